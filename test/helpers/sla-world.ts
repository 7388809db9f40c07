/**
 * The SLA tests' world on the time-skipping server: a calendar year far enough ahead to skip to (the server can only
 * move forward from today), a clock for acceptance that the test sets, and skipping to an exact instant.
 *
 * Why 2037: it has the same calendar as 2026 (1 January on a Thursday, neither year a leap year), so the 2026 State
 * Council arrangement — National Day 1–7 October, make-up Saturday 10 October — is replayed there as test data and
 * given to the worker through SLA_CALENDAR_FILE, the way a newly published year reaches a deployment.
 *
 * Why an acceptance clock: the clock starts at the submission instant (the workflow's input), but never later than
 * the `acceptApplication` activity's host time, while timers run on the server's time. The test skips the server to
 * the chosen instant, submits at it and makes the activity report it too, so the deadlines can be written down by
 * hand; the workflow's own time then lags by the few real milliseconds the start takes, which moves no deadline (they
 * are computed from the clock start). A test of a late acceptance sets the two apart.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ScheduleData } from '../../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../../domain/calendar/official';

export const TEST_YEAR = 2037;

/**
 * The 2026 notice's arrangement on the dates of 2037, written to a file for SLA_CALENDAR_FILE; `later` years after it
 * (the next year's data, published later) as given.
 */
export function writeTestCalendarFile(later: ScheduleData['years'] = []): string {
  const source = OFFICIAL_SCHEDULES.years.find((y) => y.year === 2026)!;
  const shift = (date: string) => date.replace(/^2026-/, `${TEST_YEAR}-`);
  const data: ScheduleData = {
    years: [
      {
        year: TEST_YEAR,
        notice: {
          number: 'TEST',
          title: `2026 arrangement replayed in ${TEST_YEAR} (test data)`,
          publishedOn: `${TEST_YEAR - 1}-11-01`,
          url: 'test:',
        },
        holidays: source.holidays.map((h) => ({ name: h.name, from: shift(h.from), to: shift(h.to) })),
        makeUpWorkingDays: source.makeUpWorkingDays.map((m) => ({ date: shift(m.date), for: m.for })),
      },
      ...later,
    ],
  };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kaiban-sla-')), `calendar-${TEST_YEAR}.json`);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

/** Moves the time-skipping server's clock forward to `instant` (firing every timer on the way). */
export async function skipTo(env: TestWorkflowEnvironment, instant: number): Promise<void> {
  const now = await env.currentTimeMs();
  if (instant > now) await env.sleep(instant - now);
}

/** Waits in real time (no time is skipped meanwhile) until `probe` holds. */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`not reached in ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 800)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
