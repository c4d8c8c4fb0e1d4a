// The serial console relay. The launcher holds QEMU's serial socket for the VM's
// whole life, keeps the most recent output in a ring (so a user who connects late
// still sees the last screen: the login prompt, a panic), and serves one
// interactive client at a time on console.sock, where the handler connects for
// `virtnode console`. The handler admits one API client per VMI (a second only with
// --force, handler/api/console.ts); should two connections meet here anyway, the
// newer replaces the older.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';

const RING_BYTES = 16 * 1024;

export class ConsoleRelay {
  #log: Logger;
  #ring: Buffer[] = [];
  #ringBytes = 0;
  #serial: Socket | undefined;
  #server: Server | undefined;
  #client: Socket | undefined;
  #closed = false;
  #listeners = new Set<(b: Buffer) => void>();
  #listening: { path: string; done: Promise<void> } | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Serves the console socket for the handler; a second call for the same path waits for the first. */
  listen(path: string): Promise<void> {
    if (this.#listening?.path !== path) this.#listening = { path, done: this.#listen(path) };
    return this.#listening.done;
  }

  async #listen(path: string): Promise<void> {
    await fs.rm(path, { force: true });
    const server = createServer((c) => this.#accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    await fs.chmod(path, 0o600);
    this.#server = server;
  }

  /** Connects to QEMU's serial chardev socket (QEMU is the server). */
  async attach(serialPath: string, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        this.#serial = await new Promise<Socket>((resolve, reject) => {
          const s = connect(serialPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.#serial.on('data', (b: Buffer) => this.#output(b));
    this.#serial.on('error', (e) => this.#log.debug({ err: e.message }, 'serial socket error'));
    this.#serial.on('close', () => {
      this.#serial = undefined;
      this.#client?.end();
    });
  }

  /** Recent console output (for logs and tests). */
  recent(): Buffer {
    return Buffer.concat(this.#ring);
  }

  /** Observes console output as it arrives. */
  onOutput(fn: (b: Buffer) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#client?.destroy();
    this.#serial?.destroy();
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  #output(b: Buffer): void {
    // When the guest first spoke: a start's breakdown tells the guest's boot from the relay's delay.
    if (this.#ringBytes === 0) this.#log.debug('first console output');
    this.#ring.push(b);
    this.#ringBytes += b.length;
    while (this.#ringBytes > RING_BYTES && this.#ring.length > 1) this.#ringBytes -= this.#ring.shift()!.length;
    this.#client?.write(b);
    for (const fn of this.#listeners) fn(b);
  }

  #accept(c: Socket): void {
    if (this.#closed) {
      c.destroy();
      return;
    }
    if (this.#client) {
      this.#client.end('\r\n[virtnode: console taken over by another connection]\r\n');
    }
    this.#client = c;
    c.write(this.recent());
    c.on('data', (b) => this.#serial?.write(b));
    c.on('error', () => undefined);
    c.on('close', () => {
      if (this.#client === c) this.#client = undefined;
    });
  }
}
