// A notification receiver on loopback for tests: records what the webhook, exec-less pings and the like
// send, and answers as told (200, a status, or never).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Answer = number | 'hang';

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  base: string;
  requests: ReceivedRequest[];
  /** Requests whose answer is being held back (`hang`). */
  held: number;
  /** How the next requests are answered: a status for each in turn, then `otherwise`. */
  answer(sequence: Answer[], otherwise?: Answer): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let sequence: Answer[] = [];
  let otherwise: Answer = 200;
  const hanging = new Set<ServerResponse>();
  const receiver: Receiver = {
    base: '',
    requests: [],
    held: 0,
    answer(next, fallback = 200) {
      sequence = [...next];
      otherwise = fallback;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = sequence.shift() ?? otherwise;
      if (answer === 'hang') {
        hanging.add(res);
        receiver.held++;
        res.on('close', () => {
          if (hanging.delete(res)) receiver.held--;
        });
        return;
      }
      // A redirect points somewhere that would answer 200: following it would look like a delivery.
      const redirect = answer >= 300 && answer < 400 ? { location: '/redirected' } : {};
      res.writeHead(answer, { 'content-type': 'text/plain', ...redirect }).end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** The JSON bodies received on `path` (the webhook's), in order. */
export function receivedEvents(receiver: Receiver, path: string): Array<Record<string, unknown>> {
  return receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as Record<string, unknown>);
}
