/**
 * The Temporal server's work per application, counted from its own Prometheus metrics (the dev server started with
 * `--metrics-port`): the requests its frontend served (from clients and workers) and the database operations it ran,
 * Kaiban against the baseline. Counts, not time: they do not depend on how busy the machine is, so a small difference
 * is a real one.
 */

/** Counters by operation name, summed over every other label. */
export interface ServerCounters {
  /** `persistence_requests` and `visibility_persistence_requests`. */
  persistence: Map<string, number>;
  /** `service_requests` of the frontend service: the API calls of clients and workers. */
  requests: Map<string, number>;
}

export interface ServerWorkPerApplication {
  /** Requests to the server's frontend (start, polls, task completions, queries, signals…). */
  requests: number;
  /** Database operations that change it (executions, history, tasks, visibility records). */
  writes: number;
  /** Every other database operation (executions, history branches, task queues, namespaces, cluster metadata). */
  reads: number;
  /** Per application, by operation name (only those that moved). */
  byOperation: Record<string, number>;
  requestsByOperation: Record<string, number>;
}

const PERSISTENCE = /^(?:visibility_)?persistence_requests\{([^}]*)\} ([0-9.e+]+)$/gm;
const REQUESTS = /^service_requests\{([^}]*)\} ([0-9.e+]+)$/gm;
const WRITE = /^(?:Create|Update|Upsert|Record|Delete|Complete|RangeComplete|Append|Put|Set|Insert)/;

const label = (labels: string, name: string) => new RegExp(`(?:^|,)${name}="([^"]+)"`).exec(labels)?.[1];

export async function serverCounters(metricsUrl: string): Promise<ServerCounters> {
  const res = await fetch(metricsUrl);
  if (!res.ok) throw new Error(`the Temporal server's metrics answered ${res.status}`);
  const text = await res.text();
  const add = (map: Map<string, number>, operation: string | undefined, value: string | undefined) => {
    if (operation) map.set(operation, (map.get(operation) ?? 0) + Number(value));
  };
  const counters: ServerCounters = { persistence: new Map(), requests: new Map() };
  for (const [, labels, value] of text.matchAll(PERSISTENCE)) {
    add(counters.persistence, label(labels!, 'operation'), value);
  }
  for (const [, labels, value] of text.matchAll(REQUESTS)) {
    if (label(labels!, 'service_name') === 'frontend') add(counters.requests, label(labels!, 'operation'), value);
  }
  return counters;
}

/** The server's work between two readings, per application. */
export function serverWorkPerApplication(
  before: ServerCounters,
  after: ServerCounters,
  applications: number,
): ServerWorkPerApplication {
  const moved = (from: Map<string, number>, to: Map<string, number>) =>
    Object.fromEntries(
      [...to]
        .map(([operation, count]) => [operation, (count - (from.get(operation) ?? 0)) / applications] as const)
        .filter(([, count]) => count !== 0),
    );
  const byOperation = moved(before.persistence, after.persistence);
  const requestsByOperation = moved(before.requests, after.requests);
  const sum = (entries: [string, number][]) => entries.reduce((total, [, count]) => total + count, 0);
  return {
    requests: sum(Object.entries(requestsByOperation)),
    writes: sum(Object.entries(byOperation).filter(([operation]) => WRITE.test(operation))),
    reads: sum(Object.entries(byOperation).filter(([operation]) => !WRITE.test(operation))),
    byOperation,
    requestsByOperation,
  };
}
