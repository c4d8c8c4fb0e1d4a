// A keyed work queue in the shape of client-go's: a key is queued at most once,
// never processed by two workers at once, and processed again if it was queued
// while in flight. Reconcilers are level-triggered: they read the current state
// for a key and act, so coalescing many notifications into one run is correct.

export type Reconcile = (key: string) => Promise<void>;

export class WorkQueue {
  #fn: Reconcile;
  #onError: (key: string, e: unknown) => void;
  #concurrency: number;
  #queued: string[] = [];
  #queuedSet = new Set<string>();
  #inFlight = new Set<string>();
  #dirty = new Set<string>();
  #timers = new Map<string, NodeJS.Timeout>();
  #running = 0;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(fn: Reconcile, opts: { concurrency?: number; onError: (key: string, e: unknown) => void }) {
    this.#fn = fn;
    this.#onError = opts.onError;
    this.#concurrency = opts.concurrency ?? 4;
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
        .catch((e) => this.#onError(key, e))
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
