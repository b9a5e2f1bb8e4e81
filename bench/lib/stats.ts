/** Small, dependency-free statistics for benchmark samples (milliseconds unless stated). */

/** Percentile by linear interpolation between closest ranks (the "R-7" / Excel definition). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    mean: mean(sorted),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Several trials of the same measurement: the headline is the median over trials of each
 * percentile; `pooled` is the percentile over all samples together; `spread` the range of the
 * trial p50s, to show how stable the figure is.
 */
export interface TrialSummary {
  readonly trials: number;
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
  readonly p50Range: readonly [number, number];
  readonly pooled: Summary;
}

export function summarizeTrials(trials: readonly (readonly number[])[]): TrialSummary {
  const each = trials.filter((t) => t.length > 0).map(summarize);
  const all = trials.flat();
  const p50s = each.map((s) => s.p50);
  return {
    trials: each.length,
    n: all.length,
    p50: median(p50s),
    p90: median(each.map((s) => s.p90)),
    p99: median(each.map((s) => s.p99)),
    mean: median(each.map((s) => s.mean)),
    p50Range: [Math.min(...p50s), Math.max(...p50s)],
    pooled: summarize(all),
  };
}

/** Formats a number with a fixed number of decimals, or '–' for NaN/undefined. */
export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toFixed(digits);
}

/** Formats a dollar amount with enough precision to be useful at small magnitudes. */
export function usd(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value === 0) return '$0';
  if (Math.abs(value) >= 100) return `$${value.toFixed(0)}`;
  if (Math.abs(value) >= 1) return `$${value.toFixed(2)}`;
  if (Math.abs(value) >= 0.01) return `$${value.toFixed(3)}`;
  return `$${value.toPrecision(2)}`;
}
