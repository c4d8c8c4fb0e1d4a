// One Watch stream on VMIs, shared by every waiter of a benchmark: it records when
// each VMI was last seen in which state (by our clock, on arrival), so a waiter
// learns the moment the API reported a change, not the moment it happened to poll.

import type * as grpc from '@grpc/grpc-js';
import type { HandlerClient } from '../../handler/cli/client.js';
import type { WatchEvent__Output } from '../../proto/generated/virtnode/handler/v1/WatchEvent.js';
import type { VirtualMachineInstance } from '../../proto/vmi/types.js';

export interface Seen {
  type: string;
  vmi: VirtualMachineInstance;
  /** Date.now() on arrival. */
  at: number;
}

type Pred = (s: Seen | undefined) => boolean;

export class VmiWatch {
  #stream: grpc.ClientReadableStream<WatchEvent__Output>;
  #latest = new Map<string, Seen>();
  #waiters = new Set<{ name: string; pred: Pred; resolve(s: Seen | undefined): void }>();
  #ready: Promise<void>;
  #error: Error | undefined;
  #onAny = new Set<(s: Seen) => void>();

  #client: () => HandlerClient;
  #namespace: string;
  #closed = false;
  /** How many times the stream was lost (a handler restart) and opened again. */
  reconnects = 0;

  #onLost: (() => Promise<void>) | undefined;

  /**
   * `client` is asked again on every reconnect: a restarted handler means a new
   * client. `onLost` runs before reconnecting (to restart a handler that crashed).
   */
  constructor(client: () => HandlerClient, opts: { namespace?: string; onLost?: () => Promise<void> } = {}) {
    this.#client = client;
    this.#onLost = opts.onLost;
    this.#namespace = opts.namespace ?? 'default';
    let ready!: () => void;
    this.#ready = new Promise((r) => (ready = r));
    this.#stream = this.#open(ready);
  }

  #open(ready: () => void): grpc.ClientReadableStream<WatchEvent__Output> {
    const c = this.#client();
    const stream = c.node.Watch({ sinceSeq: 0, kinds: ['vmi'], namespace: this.#namespace }, c.md());
    const inSnapshot = new Set<string>();
    let live = false;
    stream.on('data', (e: WatchEvent__Output) => {
      if (e.type === 'SNAPSHOT_END') {
        // After a reconnect, whatever the snapshot no longer holds was deleted meanwhile.
        if (this.reconnects > 0) {
          for (const [name, s] of this.#latest) if (!inSnapshot.has(name) && s.type !== 'DELETED') this.#apply({ type: 'DELETED', vmi: s.vmi, at: Date.now() });
        }
        live = true;
        ready();
        return;
      }
      if (e.kind !== 'VirtualMachineInstance') return;
      const vmi = JSON.parse(e.json) as VirtualMachineInstance;
      if (!live) inSnapshot.add(vmi.metadata.name);
      this.#apply({ type: e.type, vmi, at: Date.now() });
    });
    // Lost for any reason but our own close(): a handler restart ends streams with
    // UNAVAILABLE, or with CANCELLED when it shuts its server down.
    let lost = false;
    const onLost = (e?: Error): void => {
      if (this.#closed || lost) return;
      lost = true;
      this.#error = e;
      this.reconnects++;
      const reopen = (): void => {
        if (this.#closed) return;
        try {
          this.#stream = this.#open(() => undefined);
        } catch {
          /* the next error retries */
        }
      };
      setTimeout(() => {
        if (this.#onLost) void this.#onLost().catch(() => undefined).finally(reopen);
        else reopen();
      }, 300).unref();
    };
    stream.on('error', (e: grpc.ServiceError) => onLost(e));
    stream.on('end', () => onLost());
    return stream;
  }

  #apply(s: Seen): void {
    this.#latest.set(s.vmi.metadata.name, s);
    for (const fn of this.#onAny) fn(s);
    for (const w of this.#waiters) {
      if (w.name === s.vmi.metadata.name && w.pred(s)) {
        this.#waiters.delete(w);
        w.resolve(s);
      }
    }
  }

  /** Resolves once the initial snapshot has arrived: later changes are live. */
  ready(): Promise<void> {
    return this.#ready;
  }

  latest(name: string): Seen | undefined {
    return this.#latest.get(name);
  }

  onAny(fn: (s: Seen) => void): () => void {
    this.#onAny.add(fn);
    return () => this.#onAny.delete(fn);
  }

  /** Waits until the VMI's latest state satisfies `pred` (checked at once, then on every change). */
  wait(name: string, pred: Pred, what: string, timeoutMs = 120_000): Promise<Seen> {
    const cur = this.#latest.get(name);
    if (pred(cur)) return Promise.resolve(cur!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters.delete(w);
        reject(new Error(`VMI ${name} was not ${what} within ${timeoutMs} ms (last: ${JSON.stringify(this.#latest.get(name)?.vmi.status ?? null).slice(0, 600)})`));
      }, timeoutMs);
      const w = {
        name,
        pred,
        resolve: (s: Seen | undefined) => {
          clearTimeout(t);
          if (s) resolve(s);
          else reject(new Error(`watch ended while waiting for ${name} to be ${what}: ${this.#error?.message}`));
        },
      };
      this.#waiters.add(w);
    });
  }

  running(name: string, timeoutMs?: number): Promise<Seen> {
    return this.wait(name, (s) => s?.type !== 'DELETED' && s?.vmi.status?.phase === 'Running', 'Running', timeoutMs);
  }

  /** A VMI that ended badly is an error, not something to wait out. */
  runningOrFail(name: string, timeoutMs?: number): Promise<Seen> {
    return this.wait(name, (s) => s?.type !== 'DELETED' && (s?.vmi.status?.phase === 'Running' || s?.vmi.status?.phase === 'Failed'), 'Running', timeoutMs).then((s) => {
      if (s.vmi.status?.phase === 'Failed') throw new Error(`VMI ${name} failed: ${s.vmi.status.reason ?? ''} ${JSON.stringify(s.vmi.status.conditions)}`);
      return s;
    });
  }

  gone(name: string, timeoutMs?: number): Promise<Seen> {
    return this.wait(name, (s) => s?.type === 'DELETED', 'deleted', timeoutMs);
  }

  close(): void {
    this.#closed = true;
    this.#stream.cancel();
  }
}
