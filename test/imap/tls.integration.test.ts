import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ServerConfig } from '../../src/config/load.js';
import { AdminSession } from '../../src/imap/admin-session.js';
import { ImapConnectionError } from '../../src/imap/imap-connection-error.js';
import { bedServerConfig, writeBedConfig } from '../support/bed-config.js';
import { runCliProcess } from '../support/run-cli.js';
import { useBed } from '../support/use-bed.js';

/**
 * A host name that is not in the bed's certificate (IP 127.0.0.1, DNS localhost) yet reaches it:
 * the resolver reads `127.1` as 127.0.0.1 (inet_aton shorthand), while TLS, seeing no IP address,
 * checks it as a DNS name.
 */
const NAME_NOT_IN_CERTIFICATE = '127.1';

describe('TLS to a real Cyrus 3.6 with a certificate from a private CA', () => {
  /** The imaps port with the CA given: what a correct TLS config looks like. */
  let implicit: Partial<ServerConfig>;
  const { bed, work } = useBed({
    bed: { tls: true },
    scratch: 'xbs-tls-',
    setup() {
      implicit = { port: bed.imap.tlsPort!, tls: 'implicit', tlsCaFile: bed.tlsCaFile! };
    },
  });

  /** Opens a session with these settings, hands it to `inspect`, and always closes it. */
  async function withSession(overrides: Partial<ServerConfig>, inspect: (session: AdminSession) => void): Promise<void> {
    const session = await AdminSession.open(bedServerConfig(bed, 'imap1', overrides));
    try {
      inspect(session);
    } finally {
      await session.close();
    }
  }

  /** AdminSession.open must fail with a TLS problem whose message tells the admin how to fix it. */
  async function assertRefusedForTls(overrides: Partial<ServerConfig>, detail: RegExp): Promise<void> {
    await assert.rejects(AdminSession.open(bedServerConfig(bed, 'imap1', overrides)), (err: unknown) => {
      assert.ok(err instanceof ImapConnectionError, String(err));
      assert.equal(err.problem, 'tls', err.message);
      assert.match(err.message, detail);
      assert.match(err.message, /tlsCaFile/);
      assert.match(err.message, /tlsVerify: false/);
      return true;
    });
  }

  test('implicit TLS with tlsCaFile logs in over a verified TLS connection', async () => {
    await withSession(implicit, (session) => {
      assert.ok(session.client.tls, 'imapflow reports no TLS session');
      assert.equal(session.client.tls.authorized, true);
      assert.match(session.client.tls.version, /^TLSv1\.[23]$/);
      assert.equal(session.version?.major, 3);
    });
  });

  // imapflow sets `secureConnection` only once the upgrade's handshake is done, and `tls` from the
  // upgraded socket's negotiated cipher (`false` on a cleartext socket, as the next test shows).
  test('STARTTLS with tlsCaFile upgrades the plain port to verified TLS before logging in', async () => {
    await withSession({ tls: 'starttls', tlsCaFile: bed.tlsCaFile! }, (session) => {
      assert.equal(session.client.port, bed.imap.port);
      assert.equal(session.client.secureConnection, true);
      assert.ok(session.client.tls, 'imapflow reports no TLS session');
      assert.equal(session.client.tls.authorized, true);
      assert.match(session.client.tls.version, /^TLSv1\.[23]$/);
    });
  });

  test('the plain port still logs in without TLS (allowplaintext stays on)', async () => {
    await withSession({ tls: 'none' }, (session) => {
      assert.equal(session.client.secureConnection, false);
      assert.equal(session.client.tls, false);
    });
  });

  test('implicit TLS without the CA is refused: the certificate cannot be verified', async () => {
    await assertRefusedForTls({ ...implicit, tlsCaFile: undefined }, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  test('STARTTLS without the CA is refused too', async () => {
    await assertRefusedForTls({ tls: 'starttls' }, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  test('tlsVerify: false logs in to the same server without the CA', async () => {
    await withSession({ ...implicit, tlsCaFile: undefined, tlsVerify: false }, (session) => {
      assert.ok(session.client.tls, 'imapflow reports no TLS session');
      assert.equal(session.client.tls.authorized, false);
    });
  });

  test('connecting by a name the certificate does not carry is refused, even with the CA', async () => {
    await assertRefusedForTls({ ...implicit, host: NAME_NOT_IN_CERTIFICATE }, /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('the certificate also carries the name localhost', async () => {
    await withSession({ ...implicit, host: 'localhost' }, (session) => {
      assert.equal(session.client.tls && session.client.tls.authorized, true);
    });
  });

  test('check passes over implicit TLS with tlsCaFile, and without it fails with exit 1 and names the fix', async () => {
    const implicitTls = { port: bed.imap.tlsPort!, tls: 'implicit' };
    const good = writeBedConfig(bed, join(work, 'with-ca'), {
      servers: [{ which: 'imap1', settings: { ...implicitTls, tlsCaFile: bed.tlsCaFile! } }],
    });
    const passed = await runCliProcess(['check', '-c', good]);
    assert.equal(passed.code, 0, passed.stdout + passed.stderr);
    assert.match(passed.stdout, new RegExp(`^PASS imap1 login: admin@127\\.0\\.0\\.1:${bed.imap.tlsPort} \\(implicit\\), Cyrus 3\\.6`, 'm'));
    assert.match(passed.stdout, /^PASS imap1 XBACKUP: /m);

    const bad = writeBedConfig(bed, join(work, 'without-ca'), { servers: [{ which: 'imap1', settings: implicitTls }] });
    const failed = await runCliProcess(['check', '-c', bad]);
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    const loginLine = failed.stdout.split('\n').find((line) => line.startsWith('FAIL imap1 login: '));
    assert.ok(loginLine, failed.stdout);
    assert.match(loginLine, /tlsCaFile/);
    assert.match(loginLine, /tlsVerify: false/);
  });
});
