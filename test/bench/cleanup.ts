// Everything a benchmark starts registers its undo here the moment it exists, so
// that a failure, a timeout or Ctrl-C still stops handlers, QEMUs and daemons and
// removes temporary directories. Undos run newest first.

export type Undo = () => Promise<void> | void;

export class Cleanup {
  #stack: { what: string; fn: Undo }[] = [];
  #log: (msg: string) => void;

  constructor(log: (msg: string) => void) {
    this.#log = log;
  }

  /** Registers an undo; the returned function runs it now (once) and unregisters it. */
  add(what: string, fn: Undo): () => Promise<void> {
    const entry = { what, fn };
    this.#stack.push(entry);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      this.#stack = this.#stack.filter((e) => e !== entry);
      await fn();
    };
  }

  async run(): Promise<void> {
    while (this.#stack.length) {
      const { what, fn } = this.#stack.pop()!;
      try {
        await Promise.race([
          Promise.resolve().then(fn),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 60 s')), 60_000).unref()),
        ]);
      } catch (e) {
        this.#log(`cleanup of ${what} failed: ${(e as Error).message}`);
      }
    }
  }
}
