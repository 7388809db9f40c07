/**
 * Completion figures for the supervisors' dashboard (GET /v1/stats):
 *   - completed today / this week / per day: visibility count queries on CloseTime (Asia/Shanghai
 *     days, weeks from Monday);
 *   - completion working time (median, 95th percentile) and the share finished within one working
 *     day: a bounded sample, the most recent COMPLETION_SAMPLE_MAX applications completed in the last
 *     7 days (visibility list). For each, the exact figures come from its final status (the SLA clock:
 *     working time counted with pauses for corrections excluded, and whether it breached), read once
 *     per application (at most FINAL_STATUS_READS_PER_CALL per call, then cached: a completed
 *     application never changes). Until read, an application counts with an estimate from visibility:
 *     working time from start to close by the calendar, not pause-adjusted.
 */
import type { Client } from '@temporalio/client';
import { shanghaiIsoDate, type WorkingCalendar } from '../../domain/calendar';
import type { ApplicationStatus } from '../../domain/status';

export const COMPLETION_SAMPLE_MAX = 500;
export const FINAL_STATUS_READS_PER_CALL = 40;
const CACHE_MAX = 10_000;
const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

export interface CompletionFigures {
  completedToday: number;
  completedThisWeek: number;
  completedByDay: { date: string; count: number }[];
  completion: {
    sampleSize: number;
    withinOneWorkingDay: number | null;
    medianWorkingMs: number | null;
    p95WorkingMs: number | null;
    /** How many of the sample came from final statuses (exact) rather than the visibility estimate. */
    exact: number;
    method: string;
  };
}

interface Measured {
  workingMs: number;
  within: boolean;
}

/** Start of the Shanghai calendar day `offsetDays` from the one holding `now`. */
function shanghaiDayStart(now: number, offsetDays = 0): number {
  return (Math.floor((now + SHANGHAI_OFFSET_MS) / DAY_MS) + offsetDays) * DAY_MS - SHANGHAI_OFFSET_MS;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

const seconds = (t: { seconds?: unknown } | null | undefined) => (t?.seconds ? Number(t.seconds) * 1000 : undefined);

/** The dashboard's completion figures, with a cache of completed applications' exact figures. */
export function completionStats(
  client: Client,
  calendar: WorkingCalendar,
): (base: string, now: number) => Promise<CompletionFigures> {
  const exact = new Map<string, Measured | null>();

  /** From the final status: the SLA clock's counted working time and level; null when it has no SLA block. */
  const readFinal = async (id: string): Promise<void> => {
    try {
      const status = (await client.workflow.getHandle(id).result()) as ApplicationStatus;
      const clock = status.sla?.application;
      exact.set(id, clock ? { workingMs: clock.elapsedWorkingMs, within: clock.level !== 'breached' } : null);
    } catch {
      // Left to the estimate; tried again on a later call.
    }
    if (exact.size > CACHE_MAX) exact.delete(exact.keys().next().value!);
  };

  return async (base, now) => {
    const completed = `${base} AND KaibanStatus = 'completed'`;
    const count = async (clause: string) => (await client.workflow.count(`${completed} AND ${clause}`)).count;
    const since = (instant: number) => `CloseTime >= '${new Date(instant).toISOString()}'`;
    const today = shanghaiDayStart(now);
    const mondayOffset = (Math.floor((now + SHANGHAI_OFFSET_MS) / DAY_MS) + 3) % 7; // 1970-01-01 was a Thursday
    const weekStart = shanghaiDayStart(now, -mondayOffset);
    const days = [-6, -5, -4, -3, -2, -1, 0].map((d) => shanghaiDayStart(now, d));

    const [completedToday, completedThisWeek, byDay, sample] = await Promise.all([
      count(since(today)),
      count(since(weekStart)),
      Promise.all(
        days.map(async (start) => ({
          date: shanghaiIsoDate(start),
          count: await count(`${since(start)} AND CloseTime < '${new Date(start + DAY_MS).toISOString()}'`),
        })),
      ),
      recentCompletions(client, `${completed} AND ${since(days[0]!)}`),
    ]);

    const unread = sample.filter((a) => !exact.has(a.id)).slice(0, FINAL_STATUS_READS_PER_CALL);
    for (let i = 0; i < unread.length; i += 10) await Promise.all(unread.slice(i, i + 10).map((a) => readFinal(a.id)));

    let exactCount = 0;
    const measured = sample.flatMap(({ id, start, close }): Measured[] => {
      const known = exact.get(id);
      if (known) {
        exactCount++;
        return [known];
      }
      try {
        const workingMs = calendar.workingTimeBetween(start, close);
        return [{ workingMs, within: workingMs <= calendar.workingDayMs }];
      } catch {
        return []; // a year the calendar does not carry: left out rather than guessed
      }
    });
    const times = measured.map((m) => m.workingMs).sort((a, b) => a - b);
    return {
      completedToday,
      completedThisWeek,
      completedByDay: byDay,
      completion: {
        sampleSize: measured.length,
        withinOneWorkingDay: measured.length ? measured.filter((m) => m.within).length / measured.length : null,
        medianWorkingMs: percentile(times, 0.5),
        p95WorkingMs: percentile(times, 0.95),
        exact: exactCount,
        method: `sample: up to ${COMPLETION_SAMPLE_MAX} applications completed in the last 7 days; SLA clock of the final status (pauses excluded), else working time from start to close`,
      },
    };
  };
}

async function recentCompletions(
  client: Client,
  query: string,
): Promise<{ id: string; start: number; close: number }[]> {
  const found: { id: string; start: number; close: number }[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      pageSize: Math.min(100, COMPLETION_SAMPLE_MAX - found.length),
      nextPageToken,
    });
    for (const e of page.executions ?? []) {
      const id = e.execution?.workflowId;
      const start = seconds(e.startTime);
      const close = seconds(e.closeTime);
      if (id && start !== undefined && close !== undefined) found.push({ id, start, close });
    }
    nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
  } while (nextPageToken && found.length < COMPLETION_SAMPLE_MAX);
  return found;
}
