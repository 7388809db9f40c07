/**
 * Placing an agency's callback: signal its decision to the application, unless the workflow already has it or is
 * about to. Queries cost the server no history, a signal costs events and a workflow task, so the API asks first
 * (callbackVerdictsQuery):
 * - `decided`: an agency that decided in its answer and calls back too, a repeated callback — nothing to do;
 * - `filing`: the callback overtook its filing's answer, which usually carries the same decision — held, asked again;
 * - `awaited` — signalled.
 * Any doubt signals: no answer within CALLBACK_PLACEMENT_BUDGET_MS, an error other than "no such application", a
 * filing still unanswered when the budget runs out. Queries to closed workflows are rejected by the server
 * (queryRejectCondition NOT_OPEN): a late callback for a finished application is answered without a worker replaying
 * the whole history.
 *
 * Agencies of parallel steps call back together: callbacks for one application that arrive while a query for it is
 * in flight share the next query instead of one query each.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryRejectedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Counter } from 'prom-client';
import {
  agencyDecisionSignal,
  callbackVerdictsQuery,
  type AgencyDecision,
  type CallbackReport,
  type CallbackVerdict,
} from '../workflows/messages';
import { rejectingClosedQueries } from './closed-queries';

/**
 * How long the API may take to place a callback before it signals anyway. A query is answered only after the workflow
 * task in flight, which under load takes seconds, and a signal then would only add to that load; the budget stays
 * within an agency's patience for an answer (the simulator gives up an attempt after 5 s).
 */
export const CALLBACK_PLACEMENT_BUDGET_MS = 4000;

/**
 * A callback that overtook its filing's answer (verdict `filing`) asks again after these waits, the last repeated,
 * until the budget runs out: the answer usually carries the decision, and then the callback costs no history.
 */
const HOLD_DELAYS_MS = [100, 200, 400, 800, 1500];

/** How a callback was placed (kaiban_agency_callbacks_total counts them, with `pending` and `not_found` from the route). */
export type PlacementOutcome = 'needless' | 'signalled' | 'signalled_in_doubt' | 'finished' | 'foreign';

interface Waiter {
  report: CallbackReport;
  giveUpAt: number;
  resolve(verdict: CallbackVerdict): void;
  reject(err: unknown): void;
}

export class CallbackPlacer {
  /** Per application: callbacks waiting for the next query while one is in flight. */
  private readonly queues = new Map<string, Waiter[]>();
  private readonly client: Client;

  /** `queries` counts the queries sent (kaiban_agency_callback_queries_total). */
  constructor(
    client: Client,
    private readonly queries?: Counter<never>,
  ) {
    this.client = rejectingClosedQueries(client);
  }

  /**
   * Resolves once the decision is signalled or known to be needless, with how; throws WorkflowNotFoundError when there
   * is no such application. One that closed while its callback was being placed (the server then answers "not found"
   * to the query or the signal) is `finished`: the decision changes nothing any more.
   */
  async place(applicationId: string, decision: AgencyDecision): Promise<PlacementOutcome> {
    try {
      return await this.placeOnce(applicationId, decision);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError && (await this.exists(applicationId))) return 'finished';
      throw err;
    }
  }

  private async exists(applicationId: string): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(applicationId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  private async placeOnce(applicationId: string, decision: AgencyDecision): Promise<PlacementOutcome> {
    const giveUpAt = Date.now() + CALLBACK_PLACEMENT_BUDGET_MS;
    const report = { ticket: decision.ticket, step: decision.step };
    let outcome: PlacementOutcome = 'signalled_in_doubt';
    for (let round = 0; Date.now() < giveUpAt; round++) {
      let verdict: CallbackVerdict;
      try {
        verdict = await this.verdict(applicationId, report, giveUpAt);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw err;
        if (err instanceof QueryRejectedError) return 'finished'; // the decision changes nothing
        break; // no answer within the budget, or another error: signal
      }
      if (verdict === 'decided') return 'needless';
      if (verdict === 'foreign') return 'foreign'; // the ticket is another step's: nothing to signal
      if (verdict === 'awaited') {
        outcome = 'signalled';
        break;
      }
      const hold = HOLD_DELAYS_MS[Math.min(round, HOLD_DELAYS_MS.length - 1)]!;
      await sleep(Math.max(0, Math.min(hold, giveUpAt - Date.now())));
    }
    await this.client.workflow.getHandle(applicationId).signal(agencyDecisionSignal, decision);
    return outcome;
  }

  /** The workflow's verdict on one report: asked at once, or with the others that arrive meanwhile. */
  private verdict(applicationId: string, report: CallbackReport, giveUpAt: number): Promise<CallbackVerdict> {
    return new Promise((resolve, reject) => {
      const queued = this.queues.get(applicationId);
      const waiter = { report, giveUpAt, resolve, reject };
      if (queued) queued.push(waiter);
      else {
        this.queues.set(applicationId, []);
        void this.ask(applicationId, [waiter]);
      }
    });
  }

  /** One query for `batch`, then one for whatever queued meanwhile, until nothing is left. */
  private async ask(applicationId: string, batch: Waiter[]): Promise<void> {
    const handle = this.client.workflow.getHandle(applicationId);
    while (batch.length > 0) {
      try {
        const giveUpAt = Math.min(...batch.map((w) => w.giveUpAt));
        this.queries?.inc();
        const verdicts = await this.client.connection.withDeadline(giveUpAt, () =>
          handle.query(
            callbackVerdictsQuery,
            batch.map((w) => w.report),
          ),
        );
        batch.forEach((w, i) => w.resolve(verdicts[i] ?? 'awaited'));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
      batch = this.queues.get(applicationId)!.splice(0);
    }
    this.queues.delete(applicationId);
  }
}
