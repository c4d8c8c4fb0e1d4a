// One VMI's launcher as the handler holds it: its session endpoint, its process, and
// where it stands, as an explicit table of states (containerd's shim keeps one
// object per state; this keeps one field and a table). Every move is checked: an
// illegal one is an error naming both states, so a late event or a second teardown
// shows up as a bug rather than as a flag silently overwritten.
//
//   absent ─attach→ starting ─Sync sent→ syncing ─accepted→ running ─shutdown sent→ stopping
//   syncing ─session lost→ starting (Sync again after the next Hello)
//   starting/syncing/running/stopping ─final domain state→ final
//   any ─process gone, or torn down→ gone
//
// Domain events are handed on one at a time, in order (`onEvent`), and the launcher's
// end (`onExit`) only after the events already received: a launcher that exits
// right after its final event ended well.

import type { Logger } from 'pino';
import { errorMessage, IllegalTransitionError, VirtnodeError } from '../../proto/errors.js';
import type { CommandResult__Output } from '../../proto/generated/virtnode/launcher/v1/CommandResult.js';
import type { DomainEvent__Output } from '../../proto/generated/virtnode/launcher/v1/DomainEvent.js';
import type { Hello__Output } from '../../proto/generated/virtnode/launcher/v1/Hello.js';
import type { GuestAgentStatus__Output } from '../../proto/generated/virtnode/launcher/v1/GuestAgentStatus.js';
import type { LaunchContext as LaunchContextMessage } from '../../proto/generated/virtnode/launcher/v1/LaunchContext.js';
import type { LauncherProcess } from '../sandbox/provider.js';
import { LauncherEndpoint, type CommandOp, type PeerCheck } from './launcher-endpoint.js';

export type LauncherState = 'absent' | 'starting' | 'syncing' | 'running' | 'stopping' | 'final' | 'gone';

const NEXT: Record<LauncherState, readonly LauncherState[]> = {
  absent: ['starting', 'running', 'final', 'gone'],
  starting: ['syncing', 'running', 'stopping', 'final', 'gone'],
  syncing: ['starting', 'running', 'stopping', 'final', 'gone'],
  running: ['stopping', 'final', 'gone'],
  stopping: ['final', 'gone'],
  final: ['gone'],
  gone: [],
};

/** How long a Sync may take: the launcher answers once QEMU runs the guest. */
const SYNC_TIMEOUT_MS = 60_000;
/** How often a launcher whose session dropped is checked for life. */
const LIVENESS_POLL_MS = 200;

export interface LauncherHandleOptions {
  key: string;
  socketPath: string;
  log: Logger;
  /** Whether the launcher process still runs (the sandbox's record). */
  alive(): boolean;
  /** Applies one domain event; the handle acknowledges nothing itself. */
  onEvent(ev: DomainEvent__Output): Promise<void>;
  /** Applies the guest agent's latest status (in order with the events around it). */
  onAgent?(s: GuestAgentStatus__Output): Promise<void>;
  /** The launcher ended (`how`, in words); `afterFinal`: it had reported its domain's final state. */
  onExit(how: string, afterFinal: boolean): void;
  /** Who may speak on the launcher socket (see LauncherEndpoint). */
  admitPeer?: PeerCheck;
  /** The sequence number of the last event applied for this VMI (kept across handler restarts). */
  appliedSeq(): number;
}

export class LauncherHandle {
  readonly key: string;
  #state: LauncherState = 'absent';
  #o: LauncherHandleOptions;
  #endpoint: LauncherEndpoint;
  #chain: Promise<void> = Promise.resolve();
  #liveness: NodeJS.Timeout | undefined;
  #helloWaiters: { resolve(h: Hello__Output): void; reject(e: Error): void }[] = [];
  #forceTimer: NodeJS.Timeout | undefined;
  /** The grace period of the stop sent last. */
  #stopGrace: number | undefined;
  #gone: string | undefined;
  /** close() was called: this handler has let go of the launcher. */
  #closed = false;

  constructor(o: LauncherHandleOptions) {
    this.key = o.key;
    this.#o = o;
    this.#endpoint = new LauncherEndpoint({ socketPath: o.socketPath, log: o.log, admitPeer: o.admitPeer });
    this.#endpoint.on('hello', (h) => {
      this.#stopLiveness();
      for (const w of this.#helloWaiters.splice(0)) w.resolve(h);
    });
    this.#endpoint.on('event', (ev) => {
      // Each link handles its own failure: the chain never rejects, so one bad event
      // neither stops the ones after it nor takes the handler down.
      this.#chain = this.#chain
        .then(() => (this.#inSequence(ev) ? this.#o.onEvent(ev) : undefined))
        .catch((e) => this.#o.log.error({ seq: Number(ev.seq), err: errorMessage(e) }, 'applying a domain event failed'));
    });
    this.#endpoint.on('agent', (s) => {
      const apply = this.#o.onAgent;
      if (!apply) return;
      this.#chain = this.#chain.then(() => apply(s)).catch((e) => this.#o.log.error({ err: errorMessage(e) }, 'applying the guest agent status failed'));
    });
    this.#endpoint.on('disconnect', () => this.#watchLiveness());
  }

  get state(): LauncherState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#endpoint.connected;
  }

  /** Why the launcher is gone, once it is. */
  get goneReason(): string | undefined {
    return this.#gone;
  }

  /** Serves the launcher's socket; a launcher may dial in from now on. */
  listen(): Promise<void> {
    return this.#endpoint.listen();
  }

  /**
   * A launcher process now serves this VMI: watch for its end (`proc`, when this
   * handler started it) and, until it dials in, for its life.
   */
  attach(proc: LauncherProcess | undefined): void {
    this.#move('starting');
    void proc?.exited.then((how) => this.exited(how));
    this.#watchLiveness();
  }

  /** After a handler restart: a launcher that already runs its domain. */
  adoptRunning(): void {
    this.#move('running');
    this.#watchLiveness();
  }

  /**
   * Sends the VMI to the launcher once it has said hello, and resolves when the
   * launcher accepted it (QEMU runs the guest). A session lost meanwhile means the
   * launcher dials again: Sync then goes out after its next Hello. A launcher whose
   * Hello says it already runs a domain (a handler restart) is not asked again.
   */
  async sync(vmiJson: () => string | undefined, context: LaunchContextMessage, before?: (pid: number) => Promise<void>): Promise<void> {
    for (;;) {
      const hello = await this.#nextHello();
      if (this.#now() !== 'starting') return; // stopped, final or gone meanwhile
      if (hello.domainDefined) {
        this.#move('running');
        return;
      }
      await before?.(hello.pid);
      const vmi = vmiJson();
      if (vmi === undefined) return; // the VMI went away
      this.#move('syncing');
      try {
        await this.#endpoint.command({ sync: { vmiJson: vmi, context } }, SYNC_TIMEOUT_MS);
      } catch (e) {
        if (this.#now() === 'syncing' && e instanceof VirtnodeError && e.code === 'VN_UNAVAILABLE') {
          this.#move('starting');
          continue;
        }
        throw e;
      }
      if (this.#now() === 'syncing') this.#move('running');
      return;
    }
  }

  /** A lifecycle (or hot-plug) command to a running launcher; resolves with its result. */
  command(op: CommandOp, timeoutMs?: number): Promise<CommandResult__Output> {
    if (!this.connected) return Promise.reject(new VirtnodeError('VN_UNAVAILABLE', `the launcher of ${this.key} is not connected; try again`));
    return this.#endpoint.command(op, timeoutMs);
  }

  /**
   * Asks the launcher to end the domain: power button with `grace` seconds, or kill
   * at once for 0. The launcher kills QEMU itself after the grace period;
   * `onOverdue` is the backstop for a launcher that does not (called once, later).
   * A second stop may only shorten the wait, to a kill.
   */
  stop(graceSeconds: number, onOverdue: () => void): void {
    if (this.#state === 'stopping') {
      if (graceSeconds > 0 || this.#stopGrace === 0) return;
    } else {
      this.#move('stopping');
    }
    this.#stopGrace = graceSeconds;
    const op: CommandOp = graceSeconds === 0 ? { kill: {} } : { shutdown: { gracePeriodSeconds: graceSeconds } };
    this.command(op, (graceSeconds + 10) * 1000).catch((e) => this.#o.log.warn({ err: errorMessage(e) }, 'shutdown command failed'));
    clearTimeout(this.#forceTimer);
    this.#forceTimer = setTimeout(onOverdue, (graceSeconds + 15) * 1000);
    this.#forceTimer.unref();
  }

  /** Whether a stop was sent (and the domain has not ended yet). */
  get stopping(): boolean {
    return this.#state === 'stopping';
  }

  /** The launcher reported a final domain state (it exits by itself once acknowledged). */
  final(): void {
    if (this.#state === 'final' || this.#state === 'gone') return;
    this.#move('final');
  }

  acknowledge(seq: number): void {
    this.#endpoint.ack(seq);
  }

  /** The launcher process ended; told to `onExit` after the events received before. */
  exited(how: string): void {
    // A handler that let go (stopped) no longer speaks for the launcher's VMI.
    if (this.#gone !== undefined || this.#closed) return;
    this.#gone = how;
    const wasFinal = this.#state === 'final';
    this.#move('gone');
    for (const w of this.#helloWaiters.splice(0)) w.reject(this.#goneError());
    this.#stopLiveness();
    clearTimeout(this.#forceTimer);
    void this.#chain.then(() => this.#o.onExit(how, wasFinal));
  }

  /** Resolves when every event received so far has been applied. */
  settled(): Promise<void> {
    return this.#chain;
  }

  /**
   * Stops serving the launcher's socket (the launcher keeps running and dials again:
   * a handler stop must not disturb it). `gone` also marks the launcher gone.
   */
  async close(opts: { gone?: string } = {}): Promise<void> {
    this.#closed = true;
    this.#stopLiveness();
    clearTimeout(this.#forceTimer);
    if (opts.gone !== undefined && this.#gone === undefined) {
      this.#gone = opts.gone;
      this.#move('gone');
    }
    for (const w of this.#helloWaiters.splice(0)) w.reject(this.#goneError());
    await this.#endpoint.close();
  }

  /**
   * Events come numbered from 1, in order, and are resent from the first one not
   * acknowledged, so none may be more than one past the last applied: a launcher
   * that skips ahead lost an event or lies, and its session ends (it may dial again).
   */
  #inSequence(ev: DomainEvent__Output): boolean {
    const seq = Number(ev.seq);
    const next = this.#o.appliedSeq() + 1;
    if (Number.isSafeInteger(seq) && seq >= 1 && seq <= next) return true;
    this.#o.log.warn({ seq, expected: next }, 'a launcher sent an event out of sequence; ending its session');
    this.#endpoint.drop(`event ${seq} out of sequence (the next is ${next})`);
    return false;
  }

  #goneError(): VirtnodeError {
    return new VirtnodeError('VN_UNAVAILABLE', `the launcher of ${this.key} is gone${this.#gone ? ` (${this.#gone})` : ''}`);
  }

  #nextHello(): Promise<Hello__Output> {
    const h = this.#endpoint.hello;
    if (h) return Promise.resolve(h);
    if (this.#gone !== undefined) return Promise.reject(this.#goneError());
    return new Promise((resolve, reject) => this.#helloWaiters.push({ resolve, reject }));
  }

  /** The session dropped: find out whether the launcher died or will dial again. */
  #watchLiveness(): void {
    // Closed: the endpoint's own 'disconnect' on close must not start the poll again.
    if (this.#liveness || this.#state === 'gone' || this.#closed) return;
    this.#liveness = setInterval(() => {
      if (this.#endpoint.connected) this.#stopLiveness();
      else if (!this.#o.alive()) this.exited('exited');
    }, LIVENESS_POLL_MS);
    this.#liveness.unref();
  }

  #stopLiveness(): void {
    clearInterval(this.#liveness);
    this.#liveness = undefined;
  }

  /** The state now: unlike a read of the field, never narrowed across the awaits above. */
  #now(): LauncherState {
    return this.#state;
  }

  #move(to: LauncherState): void {
    if (!NEXT[this.#state].includes(to)) throw new IllegalTransitionError(this.#state, to, `launcher of ${this.key}`);
    this.#state = to;
  }
}
