// A stand-in for QEMU's end of the guest agent channel with qemu-ga behind it: a unix
// socket that reads QGA commands the way qemu-ga does (0xFF resets its parser, one
// JSON object per line) and answers through a script. Only for the client's unit
// tests; the e2e tests talk to the real qemu-ga in the test guest.

import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeCommand {
  execute: string;
  arguments?: Record<string, unknown>;
  id?: unknown;
}

/** What the script does with one command: a reply object, raw bytes, or nothing (silence). */
export type FakeAnswer = Record<string, unknown> | Buffer | undefined;

export class FakeAgent {
  readonly path: string;
  readonly dir: string;
  /** Every command received, in order. */
  readonly received: FakeCommand[] = [];
  /** Bytes 0xFF received (qemu-ga's parser resets). */
  delimitersReceived = 0;
  socket: Socket | undefined;
  #server: Server;
  #buf = '';
  script: (c: FakeCommand) => FakeAnswer = (c) => defaultAnswer(c);

  private constructor(dir: string, server: Server) {
    this.dir = dir;
    this.path = join(dir, 'agent.sock');
    this.#server = server;
  }

  static async start(): Promise<FakeAgent> {
    const dir = mkdtempSync(join(tmpdir(), 'vn-qga-'));
    const server = createServer();
    const agent = new FakeAgent(dir, server);
    server.on('connection', (s) => agent.#accept(s));
    await new Promise<void>((r) => server.listen(agent.path, r));
    return agent;
  }

  /** Writes bytes to the client as if the channel held them. */
  write(bytes: Buffer | string): void {
    this.socket?.write(bytes);
  }

  async stop(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  #accept(s: Socket): void {
    this.socket = s;
    s.on('data', (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0xff) {
          this.delimitersReceived++;
          this.#buf = '';
          continue;
        }
        const ch = String.fromCharCode(byte);
        if (ch === '\n') {
          const line = this.#buf.trim();
          this.#buf = '';
          if (line) this.#onCommand(JSON.parse(line) as FakeCommand);
        } else this.#buf += ch;
      }
    });
    s.on('error', () => undefined);
  }

  #onCommand(c: FakeCommand): void {
    this.received.push(c);
    const a = this.script(c);
    if (a === undefined) return;
    if (Buffer.isBuffer(a)) this.socket?.write(a);
    else this.socket?.write(`${JSON.stringify(a)}\n`);
  }
}

/** qemu-ga's answers: the delimited sync, an echoed id on everything else. */
export function defaultAnswer(c: FakeCommand): FakeAnswer {
  if (c.execute === 'guest-sync-delimited') return Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify({ return: c.arguments?.id })}\n`)]);
  if (c.execute === 'guest-ping') return { return: {}, id: c.id };
  if (c.execute === 'guest-shutdown') return undefined;
  return { error: { class: 'CommandNotFound', desc: `The command ${c.execute} has not been found` }, id: c.id };
}
