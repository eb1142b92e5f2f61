/**
 * A TCP proxy between one client and the test API server, to cut a single replica off the network
 * (the API server's fault injection applies to every client alike). While cut, new connections are
 * accepted and never answered and open ones go silent: what a partition looks like to the client.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export class PartitionProxy {
  #cut = false;
  readonly #pairs = new Set<[Socket, Socket]>();
  readonly #held = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  static async start(targetUrl: string): Promise<PartitionProxy> {
    const server = createServer();
    const proxy = new PartitionProxy(server, new URL(targetUrl));
    server.on('connection', (socket) => proxy.#accept(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Partition: nothing gets through any more (requests hang until the client gives up). */
  cut(): void {
    this.#cut = true;
    for (const [client, upstream] of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  heal(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    for (const socket of this.#held) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    client.on('error', () => client.destroy());
    if (this.#cut) {
      this.#held.add(client);
      client.on('close', () => this.#held.delete(client));
      return;
    }
    const upstream = connect(Number(this.target.port), this.target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    upstream.on('error', () => upstream.destroy());
    const drop = () => {
      this.#pairs.delete(pair);
      upstream.destroy();
      if (!this.#cut || client.destroyed) return void client.destroy();
      this.#held.add(client); // partitioned: the client hears nothing, not even the close
      client.on('close', () => this.#held.delete(client));
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
