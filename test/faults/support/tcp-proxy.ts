// A TCP proxy on a free loopback port that forwards to one target (an IMAP server of the bed), for
// network faults: it can cut every live connection mid-command and refuse new ones for a while, and
// it keeps what each side sent so a test can cut at a chosen moment (e.g. once `XBACKUP` went out).
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
/** Per direction and connection: enough to find the latest command and its answer. */
const KEPT_BYTES = 64 * 1024;

/** One client connection and its twin towards the target. */
export class ProxiedConnection {
  private clientText = '';
  private serverText = '';

  constructor(
    readonly id: number,
    readonly client: net.Socket,
    readonly server: net.Socket,
  ) {}

  /** What the client sent (the last 64 kB), as latin1 text. */
  get sentByClient(): string {
    return this.clientText;
  }

  /** What the target sent back (the last 64 kB), as latin1 text. */
  get sentByServer(): string {
    return this.serverText;
  }

  /** @internal */
  keep(from: 'client' | 'server', chunk: Buffer): void {
    const text = chunk.toString('latin1');
    if (from === 'client') this.clientText = (this.clientText + text).slice(-KEPT_BYTES);
    else this.serverText = (this.serverText + text).slice(-KEPT_BYTES);
  }

  /** Both sides at once with a TCP reset, as a cable pulled or a firewall dropping the flow would end it for each peer. */
  cut(): void {
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
  }
}

export class TcpProxy {
  readonly connections = new Set<ProxiedConnection>();
  /** Every connection accepted (and forwarded) so far. */
  accepted = 0;
  /** Connections reset at once because they came while refusing. */
  refused = 0;
  private refusing = false;
  private counter = 0;

  private constructor(
    private readonly listener: net.Server,
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {}

  /** Listens on a free loopback port and forwards every connection to `target`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const listener = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, LOOPBACK, () => resolve());
    });
    const proxy = new TcpProxy(listener, (listener.address() as net.AddressInfo).port, target);
    listener.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** Cuts every live connection (both sides); returns how many there were. */
  cutAll(): number {
    const live = [...this.connections];
    for (const c of live) c.cut();
    this.connections.clear();
    return live.length;
  }

  /** Resets every new connection at once until acceptNew() (live ones are left alone): the network is down. */
  refuseNew(): void {
    this.refusing = true;
  }

  /** New connections go through again: the network is back. */
  acceptNew(): void {
    this.refusing = false;
  }

  /** The first live connection whose client sent text matching `pattern`, if any. */
  findClientText(pattern: RegExp): ProxiedConnection | undefined {
    return [...this.connections].find((c) => pattern.test(c.sentByClient));
  }

  /** Stops listening and cuts what is left. */
  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const server = net.connect({ host: this.target.host, port: this.target.port });
    const connection = new ProxiedConnection(++this.counter, client, server);
    this.connections.add(connection);
    const end = () => {
      this.connections.delete(connection);
      client.destroy();
      server.destroy();
    };
    client.on('data', (chunk: Buffer) => connection.keep('client', chunk));
    server.on('data', (chunk: Buffer) => connection.keep('server', chunk));
    client.pipe(server);
    server.pipe(client);
    // Either side ending ends the other: a half-open pair would hide the fault from one peer.
    for (const socket of [client, server]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.resume();
  }
}
