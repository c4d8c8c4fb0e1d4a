// The QMP client: one object owns one QMP socket for its whole life. It connects
// (retrying until QEMU has created the socket), reads the greeting, negotiates
// capabilities, then serialises commands — each completes or fails exactly once —
// and hands every event, with its timestamp, to 'event' listeners and iterators.
//
// Commands go out one at a time, in call order, each carrying an `id` that its reply
// echoes. QMP would accept pipelined commands, but QEMU's monitor (without OOB) runs
// them one by one anyway, so pipelining saves only a round trip of ~0.1 ms; in
// exchange, one command on the wire at a time gives three guarantees we use:
//   - getfd: the fd sent with SCM_RIGHTS belongs to exactly the command it rides
//     with, because no other bytes are in the socket when it goes out;
//   - a command that times out before it was written never runs (QmpTimeoutError.sent
//     is false), so callers know which effects may have happened;
//   - a reply without an id (QEMU omits it only when it could not parse the request)
//     can still be matched: it can only be the command on the wire.
// The ids make the matching checkable: a reply whose id is not the command on the
// wire is logged and dropped, never given to the wrong caller.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { TimeoutError, VirtnodeError, errorMessage } from '../../proto/errors.js';
import { QmpClosedError, QmpCommandError, QmpProtocolError, QmpTimeoutError } from './errors.js';
import { sendFds, socketFd } from './fdpass.js';
import { LineSplitter, classify } from './framing.js';
import { QMP_EVENT_NAMES } from './types.js';
import type { AddfdInfo, OtherQmpEvent, QmpArgs, QmpCommandName, QmpEvent, QmpEventName, QmpEventOf, QmpGreeting, QmpNoArgCommand, QmpReturn } from './types.js';

export type QmpLogger = Pick<Logger, 'debug' | 'warn'>;

export interface QmpConnectOptions {
  /** Budget for the whole connect: socket to appear, accept, greeting, negotiation. Default 10 s. */
  timeoutMs?: number;
  /** Pause between attempts while the socket is missing or refuses: fixed for the first 250 ms, then growing 1.5× up to 200 ms. Default 1 ms. */
  retryIntervalMs?: number;
  /** Give up as soon as this settles (the QEMU process exited: no socket will ever come). */
  until?: Promise<unknown>;
  /** Default timeout of execute() when the call gives none. Default 30 s. */
  commandTimeoutMs?: number;
  log?: QmpLogger;
}

export interface ExecuteOptions {
  /** Reject with QmpTimeoutError after this long (from the call, queueing included). Infinity: never. */
  timeoutMs?: number;
}

export interface QmpClientEvents {
  event: [QmpEvent];
  /** Events QmpEvents does not know; logged by nobody unless someone listens. */
  otherEvent: [OtherQmpEvent];
  /** Once, when the connection is gone; the error when it ended badly. */
  close: [Error | undefined];
}

interface Pending {
  id: number;
  command: string;
  line: string;
  /** An fd to send with the command (getfd, add-fd). */
  fd?: number;
  sent: boolean;
  /** The caller has its answer (a reply, an error, a timeout or the close). */
  settled: boolean;
  timer?: NodeJS.Timeout;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
const RETRYABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);
/** How long connect polls at its first, fine interval before backing off. */
const FINE_POLL_MS = 250;
const KNOWN_EVENTS: ReadonlySet<string> = new Set(QMP_EVENT_NAMES);

export class Qmp extends EventEmitter<QmpClientEvents> {
  readonly path: string;
  #socket: net.Socket;
  #log: QmpLogger | undefined;
  #commandTimeoutMs: number;
  #splitter = new LineSplitter();
  #nextId = 1;
  #queue: Pending[] = [];
  #inflight: Pending | undefined;
  #greeting: QmpGreeting | undefined;
  #onGreeting: ((g: QmpGreeting) => void) | undefined;
  #closed = false;
  #closeError: Error | undefined;
  #whyClosed = '';
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  /** Events that arrive before connect() has returned wait here, so none is lost. */
  #held: OtherQmpEvent[] | undefined = [];

  private constructor(path: string, socket: net.Socket, opts: QmpConnectOptions) {
    super();
    this.path = path;
    this.#socket = socket;
    this.#log = opts.log;
    this.#commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (e) => this.#finish(e));
    socket.on('close', () => this.#finish(undefined));
  }

  /**
   * Connects to QEMU's QMP socket at `path`, retrying while it does not exist yet or
   * refuses (QEMU creates it early in its start, but after we spawn it), then reads
   * the greeting and leaves capabilities negotiation mode. Bounded by `timeoutMs`
   * and by `until`.
   */
  static async connect(path: string, opts: QmpConnectOptions = {}): Promise<Qmp> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let gaveUp: string | undefined;
    const stop = new AbortController();
    opts.until?.then(
      () => stop.abort(),
      () => stop.abort(),
    );
    stop.signal.addEventListener('abort', () => (gaveUp ??= 'the QEMU process went away before QMP was ready'));
    const giveUp = (): never => {
      throw new VirtnodeError('VN_UNAVAILABLE', `QMP ${path}: ${gaveUp}`);
    };

    let socket: net.Socket | undefined;
    // QEMU makes its socket some 15–30 ms after spawn, and every ms until we connect
    // delays the VM's start: poll at a fixed fine interval for the first FINE_POLL_MS
    // (a refused connect to a missing path costs microseconds), then back off. With
    // backoff from the start, connects fell at 16, 26, 42 ms: up to 15 ms late.
    const fineUntil = Date.now() + FINE_POLL_MS;
    let delay = opts.retryIntervalMs ?? 1;
    let lastError: unknown;
    while (!socket) {
      if (gaveUp) giveUp();
      try {
        socket = await connectOnce(path, stop.signal);
      } catch (e) {
        if (gaveUp) giveUp();
        const code = (e as NodeJS.ErrnoException).code;
        if (!code || !RETRYABLE.has(code)) throw new VirtnodeError('VN_UNAVAILABLE', `QMP ${path}: ${errorMessage(e)}`, { cause: e });
        lastError = e;
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`connecting to QMP ${path} (last error: ${errorMessage(lastError)})`, timeoutMs);
        await sleep(Math.min(delay, left), undefined, { signal: stop.signal }).catch(() => undefined);
        if (Date.now() >= fineUntil) delay = Math.min(delay * 1.5, 200);
      }
    }

    const qmp = new Qmp(path, socket, opts);
    try {
      const left = () => Math.max(1, deadline - Date.now());
      await Promise.race([
        qmp.#waitGreeting(left(), timeoutMs),
        new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(new VirtnodeError('VN_UNAVAILABLE', `QMP ${path}: ${gaveUp}`)), { once: true })),
      ]);
      await qmp.execute('qmp_capabilities', undefined, { timeoutMs: left() });
    } catch (e) {
      qmp.close();
      throw e;
    } finally {
      stop.abort();
    }
    // Listeners attach after the await that returns qmp: hand them what came meanwhile.
    setImmediate(() => qmp.#releaseHeld());
    return qmp;
  }

  /** The greeting: QEMU's version and the capabilities it offered. */
  get greeting(): QmpGreeting {
    return this.#greeting!;
  }

  get version(): { major: number; minor: number; micro: number } {
    return this.#greeting!.QMP.version.qemu;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection is gone (never rejects). */
  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  /**
   * Runs one QMP command. Resolves with its `return`; rejects with QmpCommandError
   * (QEMU's error reply), QmpTimeoutError, or QmpClosedError — exactly one of them.
   */
  execute<C extends QmpNoArgCommand>(command: C, args?: QmpArgs<C>, options?: ExecuteOptions): Promise<QmpReturn<C>>;
  execute<C extends QmpCommandName>(command: C, args: QmpArgs<C>, options?: ExecuteOptions): Promise<QmpReturn<C>>;
  execute(command: string, args?: object, options?: ExecuteOptions): Promise<unknown> {
    return this.#enqueue(command, args, options, undefined);
  }

  /**
   * Hands `fd` to QEMU under `name` (QMP getfd: the fd travels as SCM_RIGHTS with the
   * command's own bytes). QEMU gets its own copy; the caller still owns and closes `fd`.
   */
  async sendFd(fd: number, name: string, options?: ExecuteOptions): Promise<void> {
    if (!Number.isInteger(fd) || fd < 0) throw new VirtnodeError('VN_INTERNAL', `getfd ${name}: not a file descriptor: ${fd}`);
    await this.#enqueue('getfd', { fdname: name }, options, fd);
  }

  /**
   * Hands `fd` to QEMU in an fd set (QMP add-fd: the fd travels as SCM_RIGHTS with the
   * command's own bytes, as for getfd): a new set unless `fdsetId` names one. Resolves
   * with the set's id and QEMU's own fd number; the caller still owns and closes `fd`.
   */
  async addFd(fd: number, opts: { fdsetId?: number; opaque?: string } = {}, options?: ExecuteOptions): Promise<AddfdInfo> {
    if (!Number.isInteger(fd) || fd < 0) throw new VirtnodeError('VN_INTERNAL', `add-fd: not a file descriptor: ${fd}`);
    const args = { ...(opts.fdsetId !== undefined ? { 'fdset-id': opts.fdsetId } : {}), ...(opts.opaque !== undefined ? { opaque: opts.opaque } : {}) };
    return (await this.#enqueue('add-fd', args, options, fd)) as AddfdInfo;
  }

  /**
   * Resolves with the next event named `name` (and passing `filter`). Call it before
   * the command that causes the event, or the event may come first and be missed.
   */
  waitEvent<E extends QmpEventName>(name: E, opts: { timeoutMs?: number; filter?: (ev: QmpEventOf<E>) => boolean } = {}): Promise<QmpEventOf<E>> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new QmpClosedError(undefined, `while waiting for ${name}: ${this.#closeReason()}`));
      const timeoutMs = opts.timeoutMs ?? this.#commandTimeoutMs;
      const done = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      const onEvent = (ev: QmpEvent) => {
        if (ev.event !== name) return;
        const typed = ev as QmpEventOf<E>;
        if (opts.filter && !opts.filter(typed)) return;
        done();
        resolve(typed);
      };
      const onClose = () => {
        done();
        reject(new QmpClosedError(undefined, `while waiting for ${name}: ${this.#closeReason()}`));
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => (done(), reject(new TimeoutError(`waiting for QMP event ${name}`, timeoutMs))), timeoutMs) : undefined;
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Every known event from now on, in order, until the connection closes (or the loop breaks). */
  async *events(): AsyncGenerator<QmpEvent, void, undefined> {
    const buffered: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (ev: QmpEvent) => {
      buffered.push(ev);
      wake?.();
    };
    const onClose = () => wake?.();
    this.on('event', onEvent);
    this.on('close', onClose);
    try {
      for (;;) {
        while (buffered.length > 0) yield buffered.shift()!;
        if (this.#closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('event', onEvent);
      this.off('close', onClose);
    }
  }

  /** Ends the connection; every command still pending fails with QmpClosedError. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#finish(undefined, 'closed by the client');
      this.#socket.destroy();
    }
    return this.#closedPromise;
  }

  // ---- commands -----------------------------------------------------------

  #enqueue(command: string, args: object | undefined, options: ExecuteOptions | undefined, fd: number | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new QmpClosedError(command, this.#closeReason()));
      const id = this.#nextId++;
      const msg: Record<string, unknown> = { execute: command };
      if (args !== undefined) msg.arguments = args;
      msg.id = id;
      const p: Pending = { id, command, line: `${JSON.stringify(msg)}\n`, fd, sent: false, settled: false, resolve, reject };
      const timeoutMs = options?.timeoutMs ?? this.#commandTimeoutMs;
      if (Number.isFinite(timeoutMs)) p.timer = setTimeout(() => this.#timedOut(p, timeoutMs), timeoutMs);
      this.#queue.push(p);
      this.#pump();
    });
  }

  /*
   * A command whose caller stops waiting. QMP has no way to cancel a command, so what
   * happens depends on whether it has left our queue:
   *
   *  - Not yet written: it is taken out of the queue and will never reach QEMU. The
   *    caller gets QmpTimeoutError with `sent: false`: nothing happened.
   *  - Written (it is the one on the wire): QEMU has it, or will read it, and will
   *    carry it out and reply. The caller gets QmpTimeoutError with `sent: true` at
   *    once, but the command stays on the wire: the next command is written only
   *    after this one's late reply arrives (and is dropped, as nobody waits for it),
   *    so replies can never be handed to the wrong caller and an fd sent with a
   *    later getfd cannot be taken by an earlier command. If QEMU is wedged, later
   *    commands time out too, without being sent; if the socket closes, they fail
   *    with QmpClosedError.
   *
   * Either way the caller's promise settles exactly once: `settled` guards every path
   * (reply, error reply, timeout, close), and whichever comes first wins.
   */
  #timedOut(p: Pending, timeoutMs: number): void {
    if (p.settled) return;
    if (!p.sent) this.#queue = this.#queue.filter((q) => q !== p);
    this.#settle(p, new QmpTimeoutError(p.command, timeoutMs, p.sent));
  }

  #settle(p: Pending, outcome: Error | { value: unknown }): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome.value);
  }

  /** Writes the next queued command when none is on the wire. */
  #pump(): void {
    while (!this.#inflight && !this.#closed && this.#greeting) {
      const p = this.#queue.shift();
      if (!p) return;
      this.#inflight = p;
      try {
        this.#write(p);
        p.sent = true;
      } catch (e) {
        // Not written: QEMU never saw it, the next command may go.
        this.#inflight = undefined;
        this.#settle(p, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  #write(p: Pending): void {
    this.#log?.debug({ qmp: p.command, id: p.id }, 'QMP command');
    if (p.fd === undefined) {
      this.#socket.write(p.line);
      return;
    }
    if (this.#socket.writableLength !== 0) {
      throw new VirtnodeError('VN_INTERNAL', `${p.command}: ${this.#socket.writableLength} bytes still queued on the QMP socket`);
    }
    const bytes = Buffer.from(p.line);
    const n = sendFds(socketFd(this.#socket), [p.fd], bytes);
    // The fd rode with the first byte; the rest of a short write needs no fd.
    if (n < bytes.length) this.#socket.write(bytes.subarray(n));
  }

  // ---- input --------------------------------------------------------------

  #onData(chunk: Buffer): void {
    let lines: string[];
    try {
      lines = this.#splitter.push(chunk);
    } catch (e) {
      this.#fail(new QmpProtocolError(`QMP ${this.path}: ${errorMessage(e)}`));
      return;
    }
    for (const line of lines) {
      if (this.#closed) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (e) {
        this.#fail(new QmpProtocolError(`QMP ${this.path}: not JSON: ${line.slice(0, 200)}`, { cause: e }));
        return;
      }
      this.#onMessage(parsed, line);
    }
  }

  #onMessage(parsed: unknown, line: string): void {
    const m = classify(parsed);
    if (!m) {
      this.#log?.warn({ line: line.slice(0, 500) }, 'QMP: unknown message ignored');
      return;
    }
    if (!this.#greeting) {
      if (m.kind !== 'greeting') {
        this.#fail(new QmpProtocolError(`QMP ${this.path}: expected the greeting first, got ${line.slice(0, 200)}`));
        return;
      }
      this.#greeting = m.value as unknown as QmpGreeting;
      this.#onGreeting?.(this.#greeting);
      this.#pump();
      return;
    }
    switch (m.kind) {
      case 'event':
        this.#onEvent(m.event, m.data, m.timestamp);
        return;
      case 'greeting':
        this.#log?.warn({ line: line.slice(0, 500) }, 'QMP: second greeting ignored');
        return;
      case 'return':
      case 'error': {
        const p = this.#inflight;
        if (!p || (m.id !== undefined && m.id !== p.id)) {
          this.#log?.warn({ id: m.id, expected: p?.id, line: line.slice(0, 500) }, 'QMP: reply to no command on the wire; dropped');
          return;
        }
        this.#inflight = undefined;
        if (p.settled) this.#log?.debug({ qmp: p.command, id: p.id }, 'QMP: late reply after timeout dropped');
        else if (m.kind === 'return') this.#settle(p, { value: m.value });
        else this.#settle(p, new QmpCommandError(p.command, m.errorClass, m.desc));
        this.#pump();
        return;
      }
    }
  }

  #onEvent(name: string, data: Record<string, unknown>, ts: { seconds: number; microseconds: number } | undefined): void {
    const timestamp = ts ?? { seconds: -1, microseconds: -1 };
    const time = ts && ts.seconds >= 0 ? new Date(ts.seconds * 1000 + Math.floor(ts.microseconds / 1000)) : new Date();
    const ev = { event: name, data, timestamp, time };
    if (this.#held) this.#held.push(ev);
    else this.#emitEvent(ev);
  }

  #emitEvent(ev: OtherQmpEvent): void {
    try {
      if (KNOWN_EVENTS.has(ev.event)) this.emit('event', ev as QmpEvent);
      else this.emit('otherEvent', ev);
    } catch (e) {
      // A listener's bug must not cut short the messages read with this event: it
      // still surfaces, as an uncaught exception, after they are handled.
      process.nextTick(() => {
        throw e;
      });
    }
  }

  #releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const ev of held) this.#emitEvent(ev);
  }

  #waitGreeting(timeoutMs: number, budgetMs: number): Promise<QmpGreeting> {
    if (this.#greeting) return Promise.resolve(this.#greeting);
    return new Promise((resolve, reject) => {
      const onClose = (e: Error | undefined) => {
        clearTimeout(timer);
        reject(new QmpClosedError(undefined, `before the greeting: ${e ? e.message : 'closed by QEMU'}`));
      };
      // A connection QEMU accepted but never greets: most likely another client holds the monitor.
      const timer = setTimeout(() => {
        this.off('close', onClose);
        reject(new TimeoutError(`QMP greeting on ${this.path} (is another client connected?)`, budgetMs));
      }, timeoutMs);
      this.#onGreeting = (g) => {
        clearTimeout(timer);
        this.off('close', onClose);
        resolve(g);
      };
      this.once('close', onClose);
    });
  }

  // ---- the end ------------------------------------------------------------

  #fail(e: Error): void {
    this.#finish(e);
    this.#socket.destroy();
  }

  #finish(e: Error | undefined, why?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = e;
    const reason = why ?? (e ? e.message : 'closed by QEMU');
    this.#whyClosed = reason;
    if (this.#splitter.pending > 0) this.#log?.warn({ bytes: this.#splitter.pending }, 'QMP: connection ended inside a message');
    const pending = [...(this.#inflight ? [this.#inflight] : []), ...this.#queue];
    this.#inflight = undefined;
    this.#queue = [];
    for (const p of pending) this.#settle(p, new QmpClosedError(p.command, reason, { cause: e }));
    // Held events still reach listeners that attach after close.
    if (this.#held) setImmediate(() => this.#releaseHeld());
    this.emit('close', e);
    this.#resolveClosed();
  }

  #closeReason(): string {
    return this.#whyClosed || (this.#closeError ? this.#closeError.message : 'closed');
  }
}

/** One connect attempt; rejects with the socket error (ENOENT, ECONNREFUSED, ...) or on abort. */
function connectOnce(path: string, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Not net.connect's own `signal`: that one would destroy the socket on a later abort too.
    const s = net.connect({ path });
    const onAbort = () => onError(new Error('aborted'));
    const onError = (e: Error) => {
      signal.removeEventListener('abort', onAbort);
      s.destroy();
      reject(e);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('error', onError);
    s.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      s.off('error', onError);
      resolve(s);
    });
  });
}
