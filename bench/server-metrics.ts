/**
 * The Temporal server's persistence operations, counted from its own Prometheus metrics (the dev server started with
 * `--metrics-port`): how many database operations an application costs the server, Kaiban against the baseline.
 * Counts, not time: they do not depend on how busy the machine is, so a small difference is a real one.
 */

/** Operations by name (`persistence_requests` and `visibility_persistence_requests`, summed over every label set). */
export type PersistenceCounters = Map<string, number>;

export interface PersistencePerApplication {
  /** Operations that change the database (executions, history, tasks, visibility records). */
  writes: number;
  /** Every other operation (executions, history branches, task queues, namespaces, cluster metadata read). */
  reads: number;
  /** Per application, by operation name (only those that moved). */
  byOperation: Record<string, number>;
}

const COUNTER = /^(?:visibility_)?persistence_requests\{([^}]*)\} ([0-9.e+]+)$/gm;
const WRITE = /^(?:Create|Update|Upsert|Record|Delete|Complete|RangeComplete|Append|Put|Set|Insert)/;

export async function persistenceCounters(metricsUrl: string): Promise<PersistenceCounters> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`the Temporal server's metrics answered ${res.status}`);
  const counters: PersistenceCounters = new Map();
  for (const [, labels, value] of (await res.text()).matchAll(COUNTER)) {
    const operation = /(?:^|,)operation="([^"]+)"/.exec(labels!)?.[1];
    if (operation) counters.set(operation, (counters.get(operation) ?? 0) + Number(value));
  }
  return counters;
}

/** The operations between two readings, per application. */
export function persistencePerApplication(
  before: PersistenceCounters,
  after: PersistenceCounters,
  applications: number,
): PersistencePerApplication {
  const byOperation: Record<string, number> = {};
  let writes = 0;
  let reads = 0;
  for (const [operation, count] of after) {
    const moved = (count - (before.get(operation) ?? 0)) / applications;
    if (moved === 0) continue;
    byOperation[operation] = moved;
    if (WRITE.test(operation)) writes += moved;
    else reads += moved;
  }
  return { writes, reads, byOperation };
}
