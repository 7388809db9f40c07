/**
 * Working-time calendar throughput: `npx tsx bench/calendar.bench.ts`.
 * Compares addWorkingTime / workingTimeBetween with a naive minute-by-minute baseline measured in the same run.
 */
import { performance } from 'node:perf_hooks';
import type { WorkingCalendar } from '../domain/calendar';
import { createOfficialCalendar as createWorkingCalendar } from '../domain/calendar/official';

const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;

const calendar = createWorkingCalendar();

/** Minute-aligned start instants spread over 2025 (Shanghai), including nights, weekends and holidays. */
const starts: number[] = [];
for (let i = 0; i < 1024; i++) {
  const minutes = (i * 7919) % (300 * 24 * 60); // a fixed spread over the first 300 days of 2025
  starts.push(Date.parse('2025-01-01T00:00:00+08:00') + minutes * MIN);
}

function naiveAddWorkingTime(cal: WorkingCalendar, start: number, budget: number): number {
  let worked = 0;
  let t = start;
  while (worked < budget) {
    if (cal.isWorkingTime(t)) worked += MIN;
    t += MIN;
  }
  return t;
}

function naiveWorkingTimeBetween(cal: WorkingCalendar, from: number, to: number): number {
  let worked = 0;
  for (let t = from; t < to; t += MIN) if (cal.isWorkingTime(t)) worked += MIN;
  return worked;
}

let sink = 0;

/** Operations per second of `op`, run over the start instants for about `ms` milliseconds. */
function opsPerSecond(op: (start: number) => number, ms: number): number {
  let ops = 0;
  const began = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 16; i++) sink += op(starts[(ops + i) & 1023]!);
    ops += 16;
    elapsed = performance.now() - began;
  }
  return (ops * 1000) / elapsed;
}

function check(name: string, fast: (s: number) => number, naive: (s: number) => number): void {
  for (const start of starts.slice(0, 50)) {
    if (fast(start) !== naive(start)) {
      throw new Error(`${name}: fast and naive disagree from ${new Date(start).toISOString()}`);
    }
  }
}

const format = (n: number): string => Math.round(n).toLocaleString('en-US');

const cases: Array<{ name: string; fast: (s: number) => number; naive: (s: number) => number }> = [];
for (const [label, budget] of [
  ['1 h', H],
  ['1 working day (7 h)', 7 * H],
  ['30 working days', 30 * 7 * H],
] as const) {
  cases.push({
    name: `addWorkingTime ${label}`,
    fast: (s) => calendar.addWorkingTime(s, budget),
    naive: (s) => naiveAddWorkingTime(calendar, s, budget),
  });
}
for (const [label, span] of [
  ['1 h', H],
  ['1 day', DAY],
  ['30 days', 30 * DAY],
] as const) {
  cases.push({
    name: `workingTimeBetween ${label}`,
    fast: (s) => calendar.workingTimeBetween(s, s + span),
    naive: (s) => naiveWorkingTimeBetween(calendar, s, s + span),
  });
}

console.log(`node ${process.version}; ops/s, higher is better; naive = stepping minute by minute\n`);
console.log(`${'operation'.padEnd(36)}${'ops/s'.padStart(14)}${'naive ops/s'.padStart(14)}${'speed-up'.padStart(12)}`);
for (const { name, fast, naive } of cases) {
  check(name, fast, naive);
  opsPerSecond(fast, 100); // warm-up
  const fastOps = opsPerSecond(fast, 500);
  const naiveOps = opsPerSecond(naive, 500);
  const ratio = `${(fastOps / naiveOps).toFixed(0)}×`;
  console.log(`${name.padEnd(36)}${format(fastOps).padStart(14)}${format(naiveOps).padStart(14)}${ratio.padStart(12)}`);
}
if (sink === 42) console.log(''); // keeps the results observable so the work is not optimised away
