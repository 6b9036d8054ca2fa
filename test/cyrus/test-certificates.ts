// A private CA and one server certificate (127.0.0.1 and localhost) for TLS test beds. Made once
// per process with openssl and kept in memory: each bed writes its own copy, so a bed's dir stays
// self-contained and the process leaves no certificate files behind.
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface TestCertificates {
  /** The CA's certificate: what a client needs to verify the server. */
  caPem: string;
  /** The server's certificate, signed by the CA, with SANs IP:127.0.0.1 and DNS:localhost. */
  serverCertPem: string;
  serverKeyPem: string;
}

const OPENSSL = 'openssl';
const VALID_DAYS = '30';
/** P-256 keys take a millisecond to make; RSA would take tens. */
const KEY_OPTIONS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const SERVER_CERTIFICATE_NAMES = { ip: '127.0.0.1', dns: 'localhost' } as const;

const run = promisify(execFile);
let generated: Promise<TestCertificates> | undefined;

/** The process's certificates, generated on first use. */
export function testCertificates(): Promise<TestCertificates> {
  generated ??= generate().catch((error: unknown) => {
    generated = undefined; // let a later bed try again rather than repeat a stale failure
    throw error;
  });
  return generated;
}

async function generate(): Promise<TestCertificates> {
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'xbs-test-certs-'));
  const file = (name: string) => path.join(work, name);
  // `-config /dev/null`: no extensions from the system's openssl.cnf (its v3_ca would make the server cert a CA too).
  const common = ['req', '-x509', '-config', '/dev/null', ...KEY_OPTIONS, '-days', VALID_DAYS];
  try {
    await openssl([
      ...common,
      ...['-keyout', file('ca.key'), '-out', file('ca.pem'), '-subj', '/CN=xbackup-scheduler test CA'],
      ...['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    ]);
    await openssl([
      ...common,
      ...['-CA', file('ca.pem'), '-CAkey', file('ca.key')],
      ...['-keyout', file('server.key'), '-out', file('server.pem'), '-subj', `/CN=${SERVER_CERTIFICATE_NAMES.dns}`],
      ...['-addext', `subjectAltName=IP:${SERVER_CERTIFICATE_NAMES.ip},DNS:${SERVER_CERTIFICATE_NAMES.dns}`],
      ...['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth'],
    ]);
    const [caPem, serverCertPem, serverKeyPem] = await Promise.all(
      ['ca.pem', 'server.pem', 'server.key'].map((name) => fsp.readFile(file(name), 'utf8')),
    );
    return { caPem: caPem!, serverCertPem: serverCertPem!, serverKeyPem: serverKeyPem! };
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run(OPENSSL, args, { timeout: 30_000 });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} could not make a test certificate: ${stderr?.trim() || message}`);
  }
}
