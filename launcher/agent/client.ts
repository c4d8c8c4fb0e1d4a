// The guest agent client: one object owns one connection to QEMU's end of the
// org.qemu.guest_agent.0 channel and speaks QGA over it. QGA looks like QMP (one
// JSON command per line, one JSON reply per line) but the peer is a process in the
// guest that comes and goes while the socket stays: there is no greeting, and the
// channel may hold bytes from before (a reply to a command that timed out, half a
// line written before a guest reboot). So the client never trusts the stream until
// it has synchronised it:
//
//   - Sync: write 0xFF (qemu-ga drops any half-read command on it), then
//     guest-sync-delimited with a fresh random id. qemu-ga answers 0xFF and
//     {"return": id}. Everything before a 0xFF is discarded, and a reply after one
//     that does not carry our id (an older sync's) sends us back to discarding.
//   - Commands go out one at a time, in call order, each with an `id` that qemu-ga
//     echoes; a reply with another id is stale and dropped.
//   - A command that times out on the wire leaves the stream out of step (its reply
//     may still come): the next command syncs first.
//   - A command that cannot be sent in its time is never sent, and at most
//     `maxWaiting` commands wait: a guest whose agent is gone or wedged does not
//     grow a queue. A failed sync fails every command that waits behind it.
//
// guest-shutdown (and the suspend commands) reply only on failure: `noReply`
// commands succeed when no error came within their time, and leave the stream to
// be synced again.

import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../../proto/errors.js';
import { AgentReader, DELIMITER, classifyReply, type AgentToken } from './framing.js';
import { AgentCommandError, AgentTimeoutError, AgentUnavailableError } from './errors.js';

export type AgentLogger = Pick<Logger, 'debug' | 'warn'>;

export interface AgentClientOptions {
  log?: AgentLogger;
  /** Timeout of a command whose call gives none. Default 10 s. */
  commandTimeoutMs?: number;
  /** How long a sync may take before the agent counts as not answering. Default 5 s. */
  syncTimeoutMs?: number;
  /** Commands allowed to wait behind the one on the wire; more are refused at once. Default 8. */
  maxWaiting?: number;
}

export interface AgentExecuteOptions {
  timeoutMs?: number;
  /** The command replies only on failure (guest-shutdown): no error within timeoutMs is success. */
  noReply?: boolean;
}

interface Op {
  kind: 'sync' | 'command';
  command: string;
  id: number;
  bytes: Buffer;
  noReply: boolean;
  sent: boolean;
  settled: boolean;
  /** Sync only: a delimiter has come since it was sent. */
  delimited: boolean;
  timer?: NodeJS.Timeout;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const DEFAULT_SYNC_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_WAITING = 8;

export class AgentClient {
  readonly path: string;
  #socket: net.Socket;
  #log: AgentLogger | undefined;
  #reader = new AgentReader();
  #commandTimeoutMs: number;
  #syncTimeoutMs: number;
  #maxWaiting: number;
  #queue: Op[] = [];
  #current: Op | undefined;
  #pumping = false;
  #synced = false;
  #nextId = 1;
  #closed = false;
  #whyClosed = '';
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  private constructor(path: string, socket: net.Socket, opts: AgentClientOptions) {
    this.path = path;
    this.#socket = socket;
    this.#log = opts.log;
    this.#commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#syncTimeoutMs = opts.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
    this.#maxWaiting = opts.maxWaiting ?? DEFAULT_MAX_WAITING;
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (e) => this.#finish(e.message));
    socket.on('close', () => this.#finish('closed by QEMU'));
  }

  /** Connects to QEMU's socket of the channel (QEMU listens on it from its start). */
  static connect(path: string, opts: AgentClientOptions = {}): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ path });
      const onError = (e: Error): void => {
        s.destroy();
        reject(new AgentUnavailableError(`connecting to ${path}: ${e.message}`));
      };
      s.once('error', onError);
      s.once('connect', () => {
        s.off('error', onError);
        resolve(new AgentClient(path, s, opts));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the stream is known to be in step (the last sync matched and nothing timed out since). */
  get synced(): boolean {
    return this.#synced;
  }

  /** The peer may have changed (the guest closed and opened its end): sync before the next command. */
  desync(): void {
    this.#synced = false;
  }

  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Synchronises the stream now (guest-sync-delimited); rejects when the agent does not answer. */
  sync(timeoutMs = this.#syncTimeoutMs): Promise<void> {
    return this.#enqueue(this.#syncOp(), timeoutMs).then(() => undefined);
  }

  /**
   * Runs one agent command. Resolves with its `return`; rejects with AgentCommandError,
   * AgentTimeoutError or AgentUnavailableError — exactly one of them.
   */
  execute<T = unknown>(command: string, args?: object, options: AgentExecuteOptions = {}): Promise<T> {
    const id = this.#nextId++;
    const msg: Record<string, unknown> = { execute: command };
    if (args !== undefined) msg.arguments = args;
    msg.id = id;
    const op = this.#op('command', command, id, Buffer.from(`${JSON.stringify(msg)}\n`), options.noReply ?? false);
    return this.#enqueue(op, options.timeoutMs ?? this.#commandTimeoutMs) as Promise<T>;
  }

  /** Ends the connection; every command still pending fails. */
  close(): Promise<void> {
    this.#finish('closed by the launcher');
    this.#socket.destroy();
    return this.#closedPromise;
  }

  // ---- commands -----------------------------------------------------------

  #op(kind: Op['kind'], command: string, id: number, bytes: Buffer, noReply: boolean): Op {
    return { kind, command, id, bytes, noReply, sent: false, settled: false, delimited: false, resolve: () => undefined, reject: () => undefined };
  }

  #syncOp(): Op {
    // qemu-ga takes the id as an int; a random one cannot be mistaken for an older sync's.
    const id = randomInt(1, 2 ** 31 - 1);
    const line = `${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } })}\n`;
    return this.#op('sync', 'guest-sync-delimited', id, Buffer.concat([Buffer.from([DELIMITER]), Buffer.from(line)]), false);
  }

  #enqueue(op: Op, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
      if (this.#closed) return reject(new AgentUnavailableError(`${op.command}: the channel is closed (${this.#whyClosed})`));
      const waiting = this.#queue.length + (this.#current ? 1 : 0);
      if (waiting > this.#maxWaiting) return reject(new AgentUnavailableError(`${op.command}: ${waiting} commands already wait for the agent`));
      if (Number.isFinite(timeoutMs)) op.timer = setTimeout(() => this.#timedOut(op, timeoutMs), timeoutMs);
      this.#queue.push(op);
      void this.#pump();
    });
  }

  #timedOut(op: Op, timeoutMs: number): void {
    if (op.settled) return;
    if (!op.sent) {
      this.#queue = this.#queue.filter((q) => q !== op);
      this.#settle(op, new AgentTimeoutError(op.command, timeoutMs, false));
      return;
    }
    // On the wire: its reply may still come, so the stream is out of step.
    this.#synced = false;
    if (op.noReply) this.#settle(op, { value: undefined });
    else this.#settle(op, new AgentTimeoutError(op.command, timeoutMs, true));
  }

  #settle(op: Op, outcome: Error | { value: unknown }): void {
    if (op.settled) return;
    op.settled = true;
    clearTimeout(op.timer);
    if (this.#current === op) this.#current = undefined;
    if (outcome instanceof Error) op.reject(outcome);
    else op.resolve(outcome.value);
    void this.#pump();
  }

  /** Writes the next queued operation once none is on the wire, syncing the stream first when needed. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#current && !this.#closed) {
        const op = this.#queue[0];
        if (!op) return;
        if (op.kind === 'command' && !this.#synced) {
          const sync = this.#syncOp();
          sync.timer = setTimeout(() => this.#timedOut(sync, this.#syncTimeoutMs), this.#syncTimeoutMs);
          const done = new Promise<unknown>((resolve, reject) => {
            sync.resolve = resolve;
            sync.reject = reject;
          });
          this.#send(sync);
          try {
            await done;
          } catch (e) {
            // The agent does not answer: nothing that waits would fare better.
            for (const q of this.#queue.splice(0)) this.#settle(q, new AgentUnavailableError(`${q.command}: the agent does not answer (${errorMessage(e)})`));
          }
          continue;
        }
        this.#queue.shift();
        this.#send(op);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #send(op: Op): void {
    this.#current = op;
    op.sent = true;
    this.#log?.debug({ qga: op.command, id: op.id }, 'guest agent command');
    this.#socket.write(op.bytes);
  }

  // ---- input --------------------------------------------------------------

  #onData(chunk: Buffer): void {
    let tokens: AgentToken[];
    try {
      tokens = this.#reader.push(chunk);
    } catch (e) {
      this.#log?.warn({ err: errorMessage(e) }, 'guest agent: reply dropped');
      this.#synced = false;
      return;
    }
    for (const t of tokens) this.#onToken(t);
  }

  #onToken(t: AgentToken): void {
    const op = this.#current;
    if (!op) return; // nothing asked: a late reply, or the agent talking out of turn
    if (op.kind === 'sync') {
      if (t.kind === 'delimiter') {
        op.delimited = true;
        return;
      }
      if (!op.delimited) return; // stale bytes before our delimiter
      const reply = parse(t.text);
      if (reply?.kind === 'return' && reply.value === op.id) {
        this.#synced = true;
        this.#settle(op, { value: undefined });
      } else {
        op.delimited = false; // an older sync's answer: wait for the next delimiter
      }
      return;
    }
    if (t.kind === 'delimiter') return;
    const reply = parse(t.text);
    if (!reply) {
      this.#log?.warn({ line: t.text.slice(0, 200) }, 'guest agent: unreadable reply dropped');
      return;
    }
    if (reply.id !== undefined && reply.id !== op.id) {
      this.#log?.debug({ id: reply.id, expected: op.id }, 'guest agent: stale reply dropped');
      return;
    }
    if (reply.kind === 'return') this.#settle(op, { value: reply.value });
    else this.#settle(op, new AgentCommandError(op.command, reply.errorClass, reply.desc));
  }

  #finish(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#whyClosed = why;
    this.#synced = false;
    const pending = [...(this.#current ? [this.#current] : []), ...this.#queue];
    this.#current = undefined;
    this.#queue = [];
    for (const op of pending) {
      // A guest-shutdown whose channel closed did what it was asked.
      if (op.noReply && op.sent) this.#settle(op, { value: undefined });
      else this.#settle(op, new AgentUnavailableError(`${op.command}: the channel closed (${why})`));
    }
    this.#resolveClosed();
  }
}

function parse(text: string): ReturnType<typeof classifyReply> {
  try {
    return classifyReply(JSON.parse(text));
  } catch {
    return undefined;
  }
}
