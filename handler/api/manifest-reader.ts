// Reading and judging Apply's manifests without holding the handler's event loop: a
// manifest of 100,000 labels takes seconds of YAML parsing and validation, during
// which the handler answered nothing and launchers lost their sessions. Small
// manifests (nearly all) are judged in line; larger ones in a worker thread, one at
// a time, within a time budget and a heap limit, after which the worker is cut off
// and the Apply refused.

import { Worker } from 'node:worker_threads';
import { InvalidSpecError, VirtnodeError } from '../../proto/errors.js';
import { judgeManifest, type JudgedManifest } from '../../proto/vmi/admit.js';
import type { ValidateOptions } from '../../proto/vmi/validate.js';
import type { WorkerAnswer } from './manifest-worker.js';

/** Below this a manifest parses in a few milliseconds: in line. */
export const INLINE_MAX_CHARS = 64 * 1024;
/** How long a worker may spend on one manifest. */
export const PARSE_BUDGET_MS = 10_000;
/** The worker's heap: a 3 MiB manifest parses in well under this. */
const WORKER_HEAP_MB = 512;
/** An idle worker goes after this, and its heap with it. */
const IDLE_MS = 30_000;

export class ManifestReader {
  #worker: Worker | undefined;
  #idle: NodeJS.Timeout | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  readonly #budgetMs: number;
  readonly #inlineMax: number;

  constructor(opts: { budgetMs?: number; inlineMaxChars?: number } = {}) {
    this.#budgetMs = opts.budgetMs ?? PARSE_BUDGET_MS;
    this.#inlineMax = opts.inlineMaxChars ?? INLINE_MAX_CHARS;
  }

  /** judgeManifest(text, options), off the event loop when the text is large. */
  read(text: string, options: Partial<ValidateOptions>): Promise<JudgedManifest> {
    if (text.length <= this.#inlineMax) return Promise.resolve().then(() => judgeManifest(text, options));
    const run = this.#queue.then(() => this.#inWorker(text, options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Ends the worker, if any (handler stop). */
  close(): Promise<void> {
    clearTimeout(this.#idle);
    const w = this.#worker;
    this.#worker = undefined;
    return w ? w.terminate().then(() => undefined) : Promise.resolve();
  }

  #inWorker(text: string, options: Partial<ValidateOptions>): Promise<JudgedManifest> {
    clearTimeout(this.#idle);
    if (!this.#worker) {
      this.#worker = new Worker(new URL('./manifest-worker.js', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
      this.#worker.unref(); // it must not keep a stopping handler alive
    }
    const worker = this.#worker;
    const id = this.#nextId++;
    return new Promise<JudgedManifest>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      // A worker that ran over or died is not used again.
      const drop = (): void => {
        if (this.#worker === worker) this.#worker = undefined;
        void worker.terminate();
      };
      const timer = setTimeout(() => {
        done();
        drop();
        reject(new InvalidSpecError([{ path: 'manifest', message: `took more than ${this.#budgetMs / 1000} s to read; refused` }]));
      }, this.#budgetMs);
      const onMessage = (a: WorkerAnswer): void => {
        if (a.id !== id) return;
        done();
        this.#idle = setTimeout(() => void this.close(), IDLE_MS);
        this.#idle.unref();
        if ('ok' in a) resolve(a.ok);
        else if ('fields' in a) reject(new InvalidSpecError(a.fields));
        else reject(new VirtnodeError('VN_INTERNAL', `reading the manifest: ${a.failed}`));
      };
      const onError = (e: Error): void => {
        done();
        drop();
        const oom = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
        reject(oom ? new InvalidSpecError([{ path: 'manifest', message: `needs more than ${WORKER_HEAP_MB} MiB to read; refused` }]) : new VirtnodeError('VN_INTERNAL', `reading the manifest: ${e.message}`));
      };
      const onExit = (): void => onError(new Error('the manifest reader stopped'));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, text, options });
    });
  }
}
