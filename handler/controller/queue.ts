// A keyed work queue in the shape of client-go's: a key is queued at most once,
// never processed by two workers at once, and processed again if it was queued
// while in flight. Reconcilers are level-triggered: they read the current state
// for a key and act, so coalescing many notifications into one run is correct.
// A key whose reconcile fails comes back after a delay that doubles with each
// failure in a row (client-go's per-item exponential backoff), so a VMI that keeps
// failing neither spins nor waits long once its cause is gone.

export type Reconcile = (key: string) => Promise<void>;

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** 0.5 s, 1 s, 2 s, ... at most 5 min. */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, maxMs: 300_000 };

export class WorkQueue {
  #fn: Reconcile;
  #onError: (key: string, e: unknown, retryInMs: number) => void;
  #concurrency: number;
  #queued: string[] = [];
  #queuedSet = new Set<string>();
  #inFlight = new Set<string>();
  #dirty = new Set<string>();
  #timers = new Map<string, NodeJS.Timeout>();
  #running = 0;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];
  #backoff: Backoff;
  /** Failures in a row, per key. */
  #failures = new Map<string, number>();

  /** `onError` hears of every failure, with the delay after which the key comes back. */
  constructor(fn: Reconcile, opts: { concurrency?: number; backoff?: Backoff; onError: (key: string, e: unknown, retryInMs: number) => void }) {
    this.#fn = fn;
    this.#onError = opts.onError;
    this.#concurrency = opts.concurrency ?? 4;
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  /** The delay before the next retry of `key` after `failures` failures in a row. */
  retryDelay(failures: number): number {
    return Math.min(this.#backoff.baseMs * 2 ** Math.max(0, failures - 1), this.#backoff.maxMs);
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#inFlight.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queuedSet.has(key)) return;
    this.#queuedSet.add(key);
    this.#queued.push(key);
    this.#pump();
  }

  /** Queues `key` after `ms`; an earlier pending delay for the key is kept if sooner. */
  addAfter(key: string, ms: number): void {
    if (this.#stopped || this.#timers.has(key)) return;
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.#timers.set(key, t);
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queued.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#queued = [];
    this.#queuedSet.clear();
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#queued.length > 0) {
      const key = this.#queued.shift()!;
      this.#queuedSet.delete(key);
      this.#inFlight.add(key);
      this.#running++;
      void this.#fn(key)
        .then(
          () => this.#failures.delete(key),
          (e) => {
            const n = (this.#failures.get(key) ?? 0) + 1;
            this.#failures.set(key, n);
            const delay = this.retryDelay(n);
            this.#onError(key, e, delay);
            this.addAfter(key, delay);
          },
        )
        .finally(() => {
          this.#running--;
          this.#inFlight.delete(key);
          if (this.#dirty.delete(key)) this.add(key);
          this.#pump();
          if (this.#running === 0 && this.#queued.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
        });
    }
  }
}
