/**
 * The API's agency-callback counters, read from GET /metrics as Prometheus scrapes them (used by the callback tests
 * and the throughput benchmark).
 */
export interface CallbackCounters {
  /** kaiban_agency_callbacks_total by outcome. */
  outcomes: Record<string, number>;
  /** kaiban_agency_callback_queries_total. */
  queries: number;
}

/** `authorization`: a staff bearer header value (`Bearer <token>`); /metrics is not public. */
export async function callbackCounters(apiUrl: string, authorization: string): Promise<CallbackCounters> {
  const res = await fetch(`${apiUrl}/metrics`, { headers: { authorization } });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  const outcomes: Record<string, number> = {};
  for (const [, outcome, value] of text.matchAll(/^kaiban_agency_callbacks_total\{outcome="(\w+)"\} (\d+)$/gm)) {
    outcomes[outcome!] = Number(value);
  }
  return { outcomes, queries: Number(/^kaiban_agency_callback_queries_total (\d+)$/m.exec(text)?.[1] ?? 0) };
}

/** The outcomes counted between two readings (only those that moved). */
export function outcomesBetween(before: CallbackCounters, after: CallbackCounters): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after.outcomes)
      .map(([k, v]) => [k, v - (before.outcomes[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
}
