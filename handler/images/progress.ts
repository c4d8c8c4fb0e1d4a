// Pull progress for the CLI's progress bar: per layer, at most a few events a
// second, and always the last one.

export interface PullProgress {
  /** The reference being pulled, as the user wrote it, normalised. */
  image: string;
  /** Digest of the blob downloading. */
  layer: string;
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressCallback = (p: PullProgress) => void;

/** Pass events on at most once per `intervalMs` (default 200 ms: 5/s), plus each layer's final one. */
export function throttleProgress(cb: ProgressCallback, intervalMs = 200, now: () => number = Date.now): ProgressCallback {
  let last = Number.NEGATIVE_INFINITY;
  return (p) => {
    const t = now();
    if (p.bytesDone < p.bytesTotal && t - last < intervalMs) return;
    last = t;
    try {
      cb(p);
    } catch {
      // a broken progress listener must not fail the pull
    }
  };
}
