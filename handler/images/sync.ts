// Two small concurrency tools for the image service: share one run of a job
// among everyone who asks for it at once, and keep gc away from running pulls.

/** Concurrent calls with the same key share one run (Go's singleflight). */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T>>();

  run(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key);
    if (running) return running;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.flights.delete(key);
      }
    })();
    this.flights.set(key, p);
    return p;
  }

  get size(): number {
    return this.flights.size;
  }
}

/**
 * Many shared holders (pulls) or one exclusive holder (gc). Waiting exclusive
 * holders go before new shared ones, so a stream of pulls cannot starve gc.
 */
export class SharedExclusiveLock {
  private shared = 0;
  private exclusive = false;
  private readonly waiting: { exclusive: boolean; wake: () => void }[] = [];

  async withShared<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.waiting.some((w) => w.exclusive)) {
      await new Promise<void>((wake) => this.waiting.push({ exclusive: false, wake }));
    } else {
      this.shared++;
    }
    try {
      return await fn();
    } finally {
      this.shared--;
      this.next();
    }
  }

  async withExclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exclusive || this.shared > 0 || this.waiting.length > 0) {
      await new Promise<void>((wake) => this.waiting.push({ exclusive: true, wake }));
    } else {
      this.exclusive = true;
    }
    try {
      return await fn();
    } finally {
      this.exclusive = false;
      this.next();
    }
  }

  /** Hand the lock on: the next exclusive waiter alone, or every shared waiter up to it. */
  private next(): void {
    if (this.exclusive || this.shared > 0) return;
    const first = this.waiting[0];
    if (!first) return;
    if (first.exclusive) {
      this.waiting.shift();
      this.exclusive = true;
      first.wake();
      return;
    }
    while (this.waiting[0] && !this.waiting[0].exclusive) {
      this.shared++;
      this.waiting.shift()!.wake();
    }
  }
}
