/** Small statistics and formatting for the benchmark report. */

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** The index of the nearest-rank `p`th percentile in `n` sorted samples. */
function rankIndex(p: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
}

/** Whether the nearest-rank `p`th percentile of `n` samples is simply their maximum (p99 for n < 100, p95 for n < 20). */
export function percentileIsMax(p: number, n: number): boolean {
  return n > 0 && rankIndex(p, n) === n - 1;
}

/** The nearest-rank `p`th percentile of `samples`. */
export function nearestRank(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[rankIndex(p, sorted.length)]!;
}

/**
 * How a percentile row is labelled, with the sample counts of its sides: `p99 (n=1000)`, or `p99 (= max, n=50)`
 * when that few samples make the percentile their maximum.
 */
export function percentileLabel(p: number, ...counts: number[]): string {
  const n = counts.length > 1 && counts.some((c) => c !== counts[0]) ? counts.join(' / ') : String(counts[0] ?? 0);
  return `p${String(p).replace('.', '_')} (${counts.some((c) => percentileIsMax(p, c)) ? '= max, ' : ''}n=${n})`;
}

/** Nearest-rank percentiles of `samples` (milliseconds in, milliseconds out). */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[rankIndex(p, sorted.length)]!;
  return {
    count: sorted.length,
    p50: rank(50),
    p95: rank(95),
    p99: rank(99),
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

/** `value / baseline`, rounded for the table; NaN when either is missing. */
export function ratio(value: number, baseline: number): number {
  return Number.isFinite(value) && Number.isFinite(baseline) && baseline !== 0 ? value / baseline : NaN;
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value.toFixed(digits);
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : '–';
}

/** Which way a row's figures are better: `higher` for rates (per second), `lower` for times, CPU, memory and counts. */
export type Better = 'higher' | 'lower';

/**
 * A row of the printed table (and of the JSON's `table`): what, Kaiban's figure, the baseline's, their ratio
 * (Kaiban / baseline), which way is better — a ratio above 1× is good for `higher` rows, bad for `lower` ones — and
 * the goal.
 */
export interface Row {
  section: string;
  metric: string;
  kaiban: string;
  baseline: string;
  ratio: string;
  better: Better | '';
  goal?: string;
}

export function renderTable(rows: readonly Row[]): string {
  const keys = ['section', 'metric', 'kaiban', 'baseline', 'ratio', 'better', 'goal'] as const;
  type Cells = Partial<Record<(typeof keys)[number], string>>;
  const header: Cells = {
    section: 'benchmark',
    metric: 'metric',
    kaiban: 'Kaiban',
    baseline: 'baseline',
    ratio: 'ratio (K / b)',
    better: 'better',
    goal: 'goal',
  };
  const all: Cells[] = [header, ...rows];
  const widths = keys.map((k) => Math.max(...all.map((r) => [...(r[k] ?? '')].length)));
  const line = (r: Cells) => keys.map((k, i) => (r[k] ?? '').padEnd(widths[i]!)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

/** Runs `task` for each item with at most `concurrency` at a time; results in item order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!, i);
    }
  });
  await Promise.all(lanes);
  return results;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
