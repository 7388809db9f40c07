/**
 * Cost of the SLA figures: `npx tsx bench/sla.bench.ts`.
 *
 * Every status call (the workflow's query, then the API's refresh) computes, for the application and its 8 steps,
 * the working time counted so far and the 75 % / 100 % instants, pauses included; each activation of the SLA loop
 * computes the next deadline. Measured against, in the same run: the same figures from a naive calendar that walks
 * minute by minute (what "add working time" costs without the prefix sums), and serialising the status to JSON (what
 * every status call already pays).
 */
import { performance } from 'node:perf_hooks';
import { createWorkingCalendar, type WorkingCalendar } from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import {
  budgetMs,
  DEFAULT_SLA_BUDGETS,
  instantWhenCounted,
  refreshSla,
  scopeStatus,
  SLA_SCOPES,
  thresholdMs,
  type PauseInterval,
  type SlaScopeStatus,
} from '../domain/sla';

const MIN = 60_000;
const H = 60 * MIN;

const calendar = createWorkingCalendar({ schedules: OFFICIAL_SCHEDULES });

/** Acceptance instants spread over 2025 (nights, weekends, holidays); each with a status taken 1–3 days later. */
const cases = Array.from({ length: 512 }, (_, i) => {
  const start = Date.parse('2025-01-02T00:00:00+08:00') + ((i * 7919) % (300 * 24 * 60)) * MIN;
  const at = start + (24 + (i % 48)) * H;
  const pauses: PauseInterval[] = i % 2 ? [{ from: start + 2 * H, to: start + 20 * H }] : [];
  return { start, at, pauses };
});

/** Minute-stepping calendar with the same working days (the baseline). */
function naiveCounted(cal: WorkingCalendar, start: number, pauses: readonly PauseInterval[], at: number): number {
  let counted = 0;
  for (let t = start; t < at; t += MIN)
    if (cal.isWorkingTime(t) && !pauses.some((p) => t >= p.from && t < (p.to ?? at))) counted += MIN;
  return counted;
}

function naiveInstant(cal: WorkingCalendar, start: number, pauses: readonly PauseInterval[], target: number): number {
  let counted = 0;
  let t = start;
  while (counted < target) {
    if (cal.isWorkingTime(t) && !pauses.some((p) => t >= p.from && t < (p.to ?? Infinity))) counted += MIN;
    t += MIN;
  }
  return t;
}

/** The SLA figures of one status: 9 scopes, each counted time plus warning and due instants. */
function statusFigures(c: (typeof cases)[number]): SlaScopeStatus[] {
  return SLA_SCOPES.map((scope) =>
    scopeStatus(calendar, {
      scope,
      budget: DEFAULT_SLA_BUDGETS[scope],
      effectiveBudgetMs: budgetMs(DEFAULT_SLA_BUDGETS[scope]),
      rule: 'working-time',
      span: { startedAt: c.start },
      pauses: c.pauses,
      at: c.at,
    }),
  );
}

function naiveStatusFigures(c: (typeof cases)[number]): number {
  let sink = 0;
  for (const scope of SLA_SCOPES) {
    const budget = budgetMs(DEFAULT_SLA_BUDGETS[scope]);
    sink +=
      naiveCounted(calendar, c.start, c.pauses, c.at) +
      naiveInstant(calendar, c.start, c.pauses, thresholdMs(budget, 'warning')) +
      naiveInstant(calendar, c.start, c.pauses, budget);
  }
  return sink;
}

const sampleStatus = (() => {
  const figures = statusFigures(cases[1]!);
  return {
    sla: {
      state: 'running' as const,
      asOf: '2025-03-03T10:00:00+08:00',
      application: figures[0],
      paused: { now: false, totalWorkingMs: 0, totalMs: 0, intervals: [] },
      alerts: [],
    },
    steps: figures.slice(1).map((sla, i) => ({
      id: SLA_SCOPES[i + 1],
      state: 'pending',
      attempts: 1,
      startedAt: '2025-03-03T09:00:00.000Z',
      sla,
    })),
    company: { name: '南昌青山绿水科技有限公司', district: '360113' },
    audit: [],
  };
})();

let sink = 0;
function perSecond(label: string, op: (i: number) => unknown, ms = 400): number {
  for (let i = 0; i < 200; i++) op(i); // warm-up
  let ops = 0;
  const began = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 16; i++) {
      const r = op(ops + i);
      sink += typeof r === 'number' ? r : 1;
    }
    ops += 16;
    elapsed = performance.now() - began;
  }
  const rate = (ops * 1000) / elapsed;
  rows.push([label, rate]);
  return rate;
}

const rows: Array<[string, number]> = [];
const pick = (i: number) => cases[i & 511]!;

const deadline = perSecond('next deadline (75 % of 7 h, pauses)', (i) =>
  instantWhenCounted(calendar, pick(i).start, pick(i).pauses, thresholdMs(7 * H, 'warning'), pick(i).at),
);
const naiveDeadline = perSecond(
  '  baseline: minute-stepping calendar',
  (i) => naiveInstant(calendar, pick(i).start, pick(i).pauses, thresholdMs(7 * H, 'warning')),
  800,
);
const status = perSecond('SLA figures of one status (9 scopes)', (i) => statusFigures(pick(i)).length);
const naiveStatus = perSecond('  baseline: minute-stepping calendar', (i) => naiveStatusFigures(pick(i)), 800);
const json = perSecond('  baseline: JSON.stringify of a status', () => JSON.stringify(sampleStatus).length);
perSecond(
  'API refresh of a running status',
  (i) => refreshSla(sampleStatus, calendar, Date.parse('2025-03-03T11:00:00+08:00') + (i % 1000) * MIN).steps.length,
);
const plan = {
  officeHours: [
    { start: '09:00', end: '12:00' },
    { start: '13:30', end: '17:30' },
  ],
  schedules: { years: OFFICIAL_SCHEDULES.years.filter((y) => y.year >= 2025) },
};
perSecond('calendar built from a recorded plan (once per run)', () => createWorkingCalendar(plan).workingDayMs);

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`node ${process.version}; operations per second (higher is better) and time per operation\n`);
console.log(`${'operation'.padEnd(52)}${'ops/s'.padStart(14)}${'µs/op'.padStart(10)}`);
for (const [label, rate] of rows)
  console.log(`${label.padEnd(52)}${fmt(rate).padStart(14)}${(1e6 / rate).toFixed(2).padStart(10)}`);
console.log(
  `\nnext deadline: ${(deadline / naiveDeadline).toFixed(0)}× the minute-stepping baseline; ` +
    `status figures: ${(status / naiveStatus).toFixed(0)}× the baseline, ${(json / status).toFixed(1)}× the cost of serialising the status`,
);
if (sink === 42) console.log('');
