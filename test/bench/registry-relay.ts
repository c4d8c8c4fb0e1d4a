// A registry that can go down and come back on the same address: a TCP relay on a
// port of its own in front of the benchmark's registry, which the soak's handler
// takes as its mirror (fixed at its start). Down means what a dead registry means
// to a client: every open connection reset, new ones refused. The registry itself
// keeps running for the other parts. It can also go down by itself in the middle of
// a given blob's body, for a pull that is cut off half-way.

import net from 'node:net';

export class RegistryRelay {
  readonly #target: { host: string; port: number };
  #server: net.Server | undefined;
  #port = 0;
  #sockets = new Set<net.Socket>();
  #cut: { path: string; afterBytes: number; done: () => void } | undefined;

  /** `target`: "host:port" of the real registry. */
  constructor(target: string) {
    const [host, port] = target.split(':');
    this.#target = { host: host!, port: Number(port) };
  }

  /** "127.0.0.1:PORT": what the handler's --registry-mirror names. */
  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get up(): boolean {
    return this.#server !== undefined;
  }

  /** Listens: on a free port the first time, on the same port after down(). */
  async start(): Promise<void> {
    if (this.#server) return;
    const server = net.createServer((client) => this.#relay(client));
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.#port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (e) {
        // Our port, freed by down(), may be in TIME_WAIT's shadow for a moment.
        if (attempt >= 20 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    this.#port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and resets every connection in flight. */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.resetAndDestroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /**
   * Goes down by itself once `afterBytes` of the response to a request for `path`
   * have passed: the returned promise resolves then.
   */
  cutDuring(path: string, afterBytes: number): Promise<void> {
    return new Promise((done) => {
      this.#cut = { path, afterBytes, done };
    });
  }

  #relay(client: net.Socket): void {
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const drop = (): void => {
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // A kept-alive connection carries one request after the other: the cut applies
    // to the response after the request that names the path.
    let counting = false;
    let passed = 0;
    client.on('data', (d: Buffer) => {
      const cut = this.#cut;
      // The request line: "GET <path>[?query] HTTP/1.1" (a mirror gets ?ns=<registry>).
      const text = cut ? d.toString('latin1') : '';
      if (cut && (text.includes(` ${cut.path} `) || text.includes(` ${cut.path}?`))) counting = true;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      const cut = this.#cut;
      if (counting && cut) {
        passed += d.length;
        if (passed >= cut.afterBytes) {
          this.#cut = undefined;
          client.write(d.subarray(0, d.length - (passed - cut.afterBytes)));
          void this.down().then(cut.done);
          return;
        }
      }
      client.write(d);
    });
  }

  async stop(): Promise<void> {
    this.#cut = undefined;
    await this.down();
  }
}
