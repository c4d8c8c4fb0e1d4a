// A scripted QMP server for the client's unit tests: a real unix socket that speaks
// QMP's wire protocol (greeting, one JSON message a line, "\r\n" endings), with the
// test deciding every byte it sends back. Only for parsing and ordering tests; the
// real QEMU tests are in test/e2e/qmp-real.test.ts.

import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GREETING = { QMP: { version: { qemu: { micro: 22, minor: 2, major: 7 }, package: 'fake' }, capabilities: ['oob'] } };

export interface Received {
  raw: string;
  msg: { execute: string; arguments?: Record<string, unknown>; id?: unknown };
}

export interface FakeOptions {
  /** Send the greeting on accept (default true). */
  greet?: boolean;
  /** Answer qmp_capabilities by itself (default true). */
  negotiate?: boolean;
  /** Bytes to send right after the qmp_capabilities reply, in the same write. */
  afterNegotiate?: string;
  /** Create the socket only when listen() is called (default: at once). */
  deferListen?: boolean;
}

export class FakeQmp {
  readonly dir: string;
  readonly path: string;
  readonly server: net.Server;
  conn: net.Socket | undefined;
  readonly received: Received[] = [];
  #waiters: ((r: Received) => void)[] = [];
  #unclaimed: Received[] = [];
  #opts: Required<Omit<FakeOptions, 'afterNegotiate'>> & { afterNegotiate: string };
  #connected: Promise<net.Socket>;
  #onConnected!: (s: net.Socket) => void;

  private constructor(opts: FakeOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'vn-qmp-fake-'));
    this.path = join(this.dir, 'qmp.sock');
    this.#opts = { greet: true, negotiate: true, deferListen: false, afterNegotiate: '', ...opts };
    this.#connected = new Promise((r) => (this.#onConnected = r));
    this.server = net.createServer((s) => this.#accept(s));
  }

  static async start(opts: FakeOptions = {}): Promise<FakeQmp> {
    const f = new FakeQmp(opts);
    if (!f.#opts.deferListen) await f.listen();
    return f;
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  connected(): Promise<net.Socket> {
    return this.#connected;
  }

  #accept(s: net.Socket): void {
    this.conn = s;
    this.#onConnected(s);
    if (this.#opts.greet) s.write(`${JSON.stringify(GREETING)}\r\n`);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const r: Received = { raw, msg: JSON.parse(raw) };
        this.received.push(r);
        if (r.msg.execute === 'qmp_capabilities' && this.#opts.negotiate) {
          s.write(`${JSON.stringify({ return: {}, id: r.msg.id })}\r\n${this.#opts.afterNegotiate}`);
          continue;
        }
        const w = this.#waiters.shift();
        if (w) w(r);
        else this.#unclaimed.push(r);
      }
    });
    s.on('error', () => undefined);
  }

  /** The next command the client sent (after negotiation). */
  next(): Promise<Received> {
    const r = this.#unclaimed.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Commands sent but not yet taken with next(). */
  get unclaimed(): number {
    return this.#unclaimed.length;
  }

  write(bytes: string | Buffer): void {
    this.conn!.write(bytes);
  }

  reply(id: unknown, ret: unknown = {}): void {
    this.write(`${JSON.stringify({ return: ret, id })}\r\n`);
  }

  error(id: unknown, cls: string, desc: string): void {
    this.write(`${JSON.stringify({ id, error: { class: cls, desc } })}\r\n`);
  }

  event(name: string, data?: Record<string, unknown>, seconds = 1_700_000_000, microseconds = 123_456): void {
    this.write(`${eventLine(name, data, seconds, microseconds)}\r\n`);
  }

  dropConnection(): void {
    this.conn?.destroy();
  }

  async stop(): Promise<void> {
    this.conn?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function eventLine(name: string, data?: Record<string, unknown>, seconds = 1_700_000_000, microseconds = 123_456): string {
  return JSON.stringify({ timestamp: { seconds, microseconds }, event: name, ...(data ? { data } : {}) });
}
