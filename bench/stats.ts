/** Small statistics and formatting for the benchmark report. */

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of `samples` (milliseconds in, milliseconds out). */
export function percentiles(samples: readonly number[]): Percentiles {
  if (samples.length === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
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

/** A row of the printed table: what, Kaiban's figure, the baseline's, their ratio, the goal. */
export interface Row {
  section: string;
  metric: string;
  kaiban: string;
  baseline: string;
  ratio: string;
  goal?: string;
}

export function renderTable(rows: readonly Row[]): string {
  const header: Row = {
    section: 'benchmark',
    metric: 'metric',
    kaiban: 'Kaiban',
    baseline: 'baseline',
    ratio: 'ratio',
    goal: 'goal',
  };
  const all = [header, ...rows];
  const keys = ['section', 'metric', 'kaiban', 'baseline', 'ratio', 'goal'] as const;
  const widths = keys.map((k) => Math.max(...all.map((r) => [...(r[k] ?? '')].length)));
  const line = (r: Row) => keys.map((k, i) => (r[k] ?? '').padEnd(widths[i]!)).join(' | ');
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
