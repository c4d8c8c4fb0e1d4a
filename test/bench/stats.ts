// Order statistics for benchmark samples. Percentiles are nearest-rank: with ten
// samples p90 is the ninth, so a figure is always a value that was really measured.

export interface Summary {
  n: number;
  min: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): Summary {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  return {
    n: s.length,
    min: s[0] ?? NaN,
    median: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s.at(-1) ?? NaN,
    mean,
  };
}

export function median(samples: readonly number[]): number {
  return summarize(samples).median;
}

/**
 * The least-squares slope of y over x and its standard error (from the residuals;
 * NaN with fewer than three points). NaN slope with fewer than two distinct x.
 */
export function slope(points: readonly (readonly [number, number])[]): { slope: number; se: number } {
  const n = points.length;
  if (n < 2) return { slope: NaN, se: NaN };
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  if (sxx === 0) return { slope: NaN, se: NaN };
  const b = sxy / sxx;
  const residuals = points.reduce((a, [x, y]) => a + (y - my - b * (x - mx)) ** 2, 0);
  return { slope: b, se: n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : NaN };
}
