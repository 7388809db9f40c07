/**
 * Agency callbacks on the dev server, through the real API: a callback becomes a signal only when the workflow
 * still waits for that decision. An agency that decides in its answer to the filing and calls back as well adds
 * nothing to the history, even when the callback overtakes the answer (the API holds it until the workflow has the
 * answer); a decision that comes later arrives by signal; a callback the API cannot place is refused, and nothing is
 * lost when in doubt (an unknown ticket, or a filing still unanswered after the hold, is signalled).
 */
import { createHmac } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { CALLBACK_PLACEMENT_BUDGET_MS } from '../api/callback-placement';
import { buildUscc } from '../domain/codes';
import { AGENCY_IDS, STEP_IDS } from '../domain/steps';
import { agencyDecisionSignal, callbackVerdictsQuery, statusQuery } from '../workflows/messages';
import { authHeaders } from './helpers/auth';
import { freshApplication, startApplication } from './helpers/fixtures';
import { callbackCounters as readCallbackCounters, outcomesBetween, type CallbackCounters } from './helpers/metrics';
import { agencyRecords, CALLBACK_SECRET, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, { settings: { pollInitialMs: 60_000, pollMaxMs: 60_000 } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What an approval of the name and of the license carries at least (domain/agency-answers.ts). */
const NAME_RESULT = { reservationId: 'NR3601029999999999' };
const LICENSE_RESULT = { uscc: buildUscc('360102', 'MA35X7K2') };

async function submit(edit?: (a: ReturnType<typeof freshApplication>) => void): Promise<string> {
  const application = freshApplication();
  edit?.(application);
  const res = await fetch(`${stack.api.url}/v1/applications`, {
    method: 'POST',
    headers: { ...(await authHeaders('applicant')), 'content-type': 'application/json' },
    body: JSON.stringify(application),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function statusOf(id: string): Promise<ApplicationStatus> {
  const res = await fetch(`${stack.api.url}/v1/applications/${id}`, { headers: await authHeaders('operator') });
  expect(res.status).toBe(200);
  return (await res.json()) as ApplicationStatus;
}

async function waitFor(id: string, done: (s: ApplicationStatus) => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await statusOf(id);
    if (done(status)) return status;
    if (Date.now() > deadline) throw new Error(`${id}: still ${status.status} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function signalsIn(id: string): Promise<number> {
  const history = await env.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

/** The API's callback counters from /metrics (the process-wide registry every stack's API in this file shares). */
async function callbackCounters(): Promise<CallbackCounters> {
  return readCallbackCounters(stack.api.url, (await authHeaders('operator')).authorization!);
}

/** Outcomes counted since `before` (only those that moved). */
async function outcomesSince(before: CallbackCounters): Promise<Record<string, number>> {
  return outcomesBetween(before, await callbackCounters());
}

/** Posts a callback exactly as an agency does: JSON body signed with the agency's secret (to `apiUrl`'s API). */
async function callBack(agency: string, body: Record<string, unknown>, apiUrl = stack.api.url): Promise<number> {
  return sendSigned(agency, signCallbackNow(body), apiUrl);
}

/** A callback signed as an agency signs it: the timestamp (Unix seconds) and the raw body, with its secret. */
function signCallbackNow(body: Record<string, unknown>): { raw: string; headers: Record<string, string> } {
  const raw = JSON.stringify(body);
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `sha256=${createHmac('sha256', CALLBACK_SECRET).update(`${timestamp}.${raw}`).digest('hex')}`;
  return { raw, headers: { 'x-agency-timestamp': String(timestamp), 'x-agency-signature': signature } };
}

/** Posts a signed callback as it is (the same bytes and headers again, for a replay). */
async function sendSigned(
  agency: string,
  callback: { raw: string; headers: Record<string, string> },
  apiUrl = stack.api.url,
): Promise<number> {
  const res = await fetch(`${apiUrl}/v1/agency-callbacks/${agency}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...callback.headers },
    body: callback.raw,
  });
  await res.arrayBuffer();
  return res.status;
}

/** An application whose license waits in manual review (投资 in its name), and the callback reference of its license. */
async function licenseInReview() {
  const handle = await startApplication(env.client, {
    taskQueue: stack.taskQueue,
    edit: (a) => void (a.company.name = a.company.name.replace('科技', '投资')),
  });
  await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
  return { handle, reference: { applicationId: handle.workflowId, step: 'license' } };
}

const allAgencies = (settings: Record<string, unknown>) => ({
  agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, settings])),
});

/**
 * An application whose seal waits at the police (settings `police`), in `state`, while the other agencies decide in
 * their answers without calling back: its tax step is done by then.
 */
async function sealWaitingBesideTax(police: Record<string, unknown>, state: 'filing' | 'pending') {
  await patchSimulator(stack.simulator, {
    agencies: { ...allAgencies({ processingMs: 0, callbacks: false }).agencies, police },
  });
  const id = await submit();
  const waiting = await waitFor(
    id,
    (s) =>
      s.steps.find((x) => x.id === 'seal')?.state === state && s.steps.find((x) => x.id === 'tax')?.state === 'done',
  );
  return { id, waiting };
}

describe('agency callbacks', () => {
  it('when every agency decides in its answer and calls back at once, before that answer reaches the workflow, then the API holds each callback until the workflow has the answer, and none becomes a signal', async () => {
    // The answers take 300 ms back, so every callback arrives while its step is still filing.
    await patchSimulator(stack.simulator, allAgencies({ processingMs: 0, callbacks: true, answerDelayMs: 300 }));
    const before = await callbackCounters();
    const id = await submit();
    const status = await waitFor(id, (s) => s.status === 'completed');
    await patchSimulator(stack.simulator, allAgencies({ answerDelayMs: 0 }));
    const agencySteps = status.steps.filter((s) => s.agency);
    expect(agencySteps).toHaveLength(STEP_IDS.length - 1);
    // Decided in the filing's answer: neither by callback nor by poll.
    for (const step of agencySteps) expect(step.decidedVia).toBeUndefined();
    // Every callback was sent and taken (204), while the workflow was still filing or after it had the answer.
    await stack.simulator.simulator.settled();
    const records = await agencyRecords(stack.simulator, id);
    expect(records).toHaveLength(agencySteps.length);
    const tickets = new Set(records.map((r) => r.ticket));
    const deliveries = stack.simulator.simulator.callbacks.deliveries.filter((d) => tickets.has(d.ticket));
    expect(deliveries.map((d) => d.outcome)).toEqual(records.map(() => 'delivered'));
    expect(await signalsIn(id)).toBe(0);
    // /metrics tells the same: every callback needless — or finding the application finished, for a last step's
    // callback held until after the end — and at least one query sent.
    const taken = await outcomesSince(before);
    expect(Object.keys(taken).filter((outcome) => outcome !== 'needless' && outcome !== 'finished')).toEqual([]);
    expect((taken.needless ?? 0) + (taken.finished ?? 0)).toBe(agencySteps.length);
    expect((await callbackCounters()).queries).toBeGreaterThan(before.queries);
    const afterEnd = await callbackCounters();

    // The same callbacks again, after the end: still nothing signalled.
    for (const record of records) {
      const answer = await callBack(record.agency, {
        ticket: record.ticket,
        status: record.status,
        reference: record.reference,
        result: record.result ?? {},
      });
      expect(answer).toBe(204);
    }
    expect(await signalsIn(id)).toBe(0);
    expect(await outcomesSince(afterEnd)).toEqual({ finished: records.length });
  });

  it('when the agencies decide after answering, then each decision arrives by callback, as one signal per step', async () => {
    await patchSimulator(stack.simulator, allAgencies({ processingMs: 150, callbacks: true }));
    const before = await callbackCounters();
    const id = await submit();
    const status = await waitFor(id, (s) => s.status === 'completed');
    const agencySteps = status.steps.filter((s) => s.agency);
    for (const step of agencySteps) expect(step.decidedVia).toBe('callback');
    expect(await signalsIn(id)).toBe(agencySteps.length);
    expect(await outcomesSince(before)).toEqual({ signalled: agencySteps.length });
  });

  it('when a callback repeats a known decision, says "pending", or names a ticket the workflow does not know, then only the unknown ticket is signalled', async () => {
    await patchSimulator(stack.simulator, allAgencies({ processingMs: 0, callbacks: false }));
    // 投资 needs a manual review: the application waits there, running, with the name already reserved.
    const id = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    const waiting = await waitFor(id, (s) => s.pendingTasks.includes('review'));
    const name = waiting.steps.find((s) => s.id === 'name')!;
    expect(name.state).toBe('done');
    const before = await signalsIn(id);
    expect(before).toBe(0);

    const counted = await callbackCounters();
    const reference = { applicationId: id, step: 'name' };
    expect(await callBack('market', { ticket: name.ticket, status: 'approved', reference, result: NAME_RESULT })).toBe(
      204,
    );
    expect(await callBack('market', { ticket: 'MARKET-NOT-FILED-YET', status: 'pending', reference })).toBe(204);
    expect(await signalsIn(id)).toBe(0);

    // A ticket the workflow has not seen may be a decision that overtook its filing's answer: it is signalled.
    expect(
      await callBack('market', { ticket: 'MARKET-OVERTAKING', status: 'approved', reference, result: NAME_RESULT }),
    ).toBe(204);
    expect(await signalsIn(id)).toBe(1);
    expect(await outcomesSince(counted)).toEqual({ needless: 1, pending: 1, signalled: 1 });
  });

  it('when agencies call back together for one application, then their callbacks share queries: five callbacks, at most two queries', async () => {
    // Counts the queries the API sends, through its client's interceptors (the placer keeps them).
    let queries = 0;
    const client = new Client({
      connection: env.client.connection,
      namespace: env.client.options.namespace,
      dataConverter: env.client.options.dataConverter,
      interceptors: { workflow: [{ query: (input, next) => (queries++, next(input)) }] },
    });
    const own = await startStack(env, { client, settings: { pollInitialMs: 60_000, pollMaxMs: 60_000 } });
    try {
      await patchSimulator(own.simulator, allAgencies({ processingMs: 0, callbacks: false }));
      // 投资 needs a manual review: the application waits there, running, with the name already reserved.
      const handle = await startApplication(env.client, {
        taskQueue: own.taskQueue,
        edit: (a) => void (a.company.name = a.company.name.replace('科技', '投资')),
      });
      let name: ApplicationStatus['steps'][number] | undefined;
      while (name?.state !== 'done') {
        await sleep(100);
        name = (await handle.query(statusQuery)).steps.find((s) => s.id === 'name');
      }
      const reference = { applicationId: handle.workflowId, step: 'name' };
      const post = (body: Record<string, unknown>) => callBack('market', body, own.api.url);
      queries = 0;
      const answers = await Promise.all([
        ...[1, 2, 3, 4].map(() => post({ ticket: name!.ticket, status: 'approved', reference, result: NAME_RESULT })),
        post({ ticket: 'MARKET-UNKNOWN', status: 'approved', reference, result: NAME_RESULT }),
      ]);
      expect(answers).toEqual([204, 204, 204, 204, 204]);
      expect(queries).toBeGreaterThanOrEqual(1);
      expect(queries).toBeLessThanOrEqual(2);
      // The four repeats changed nothing; the unknown ticket was signalled, once.
      expect(await signalsIn(handle.workflowId)).toBe(1);
      await handle.terminate('test done');
    } finally {
      await own.close();
    }
  });

  it('when a callback overtakes a filing whose answer does not come, then the API holds it for its budget (4 s) and signals it: nothing lost', async () => {
    // The name agency holds every call 6 s before handling it: the workflow stays in "filing" meanwhile.
    await patchSimulator(stack.simulator, {
      agencies: {
        ...allAgencies({ processingMs: 0, callbacks: false }).agencies,
        market: { latencySpikeRate: 1, latencySpikeMs: 6000 },
      },
    });
    try {
      const id = await submit();
      await waitFor(id, (s) => s.steps.find((step) => step.id === 'name')?.state === 'filing');
      const before = await callbackCounters();
      const t0 = Date.now();
      const reference = { applicationId: id, step: 'name' };
      expect(
        await callBack('market', { ticket: 'MARKET-EARLY', status: 'approved', reference, result: NAME_RESULT }),
      ).toBe(204);
      // Held for the whole budget (a timer may round a millisecond or two), then signalled.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(CALLBACK_PLACEMENT_BUDGET_MS - 20);
      expect(await signalsIn(id)).toBe(1);
      expect(await outcomesSince(before)).toEqual({ signalled_in_doubt: 1 });
      // The filing's own answer comes later and the application goes on with it.
      const done = await waitFor(id, (s) => s.status === 'completed', 60_000);
      expect(done.steps.find((step) => step.id === 'name')?.ticket).not.toBe('MARKET-EARLY');
    } finally {
      await patchSimulator(stack.simulator, allAgencies({ latencySpikeRate: 0, latencySpikeMs: 0 }));
    }
  }, 90_000);

  it('when a callback comes after its application finished, then the server answers for the closed workflow: 204 with no worker running, nothing signalled', async () => {
    // A stack of its own, so that its worker can be stopped: no worker could replay the history to answer the query.
    const own = await startStack(env);
    try {
      await patchSimulator(own.simulator, allAgencies({ processingMs: 0, callbacks: false }));
      const handle = await startApplication(env.client, { taskQueue: own.taskQueue });
      expect(((await handle.result()) as ApplicationStatus).status).toBe('completed');
      own.worker.shutdown();
      while (own.worker.getState() !== 'STOPPED') await sleep(50);

      const before = await callbackCounters(); // the same process's registry as own.api's
      const [record] = await agencyRecords(own.simulator, handle.workflowId);
      const answer = await callBack(
        record!.agency,
        { ticket: record!.ticket, status: 'approved', reference: record!.reference, result: record!.result },
        own.api.url,
      );
      expect(answer).toBe(204);
      expect(await signalsIn(handle.workflowId)).toBe(0);
      expect(await outcomesSince(before)).toEqual({ finished: 1 });
    } finally {
      await own.close();
    }
  });

  it('when an application closes while its callback waits for an answer, then 204, counted as finished — not a 404 the agency would retry', async () => {
    // No worker answers the query, so the callback waits out its budget, then would signal a workflow that is gone.
    const own = await startStack(env);
    try {
      await patchSimulator(own.simulator, allAgencies({ processingMs: 0, callbacks: false }));
      const handle = await startApplication(env.client, {
        taskQueue: own.taskQueue,
        edit: (a) => void (a.company.name = a.company.name.replace('科技', '投资')), // parked in review
      });
      for (let waited = 0; ; waited += 100) {
        const status = await handle.query(statusQuery);
        if (status.pendingTasks.includes('review')) break;
        if (waited > 30_000) throw new Error(`${handle.workflowId} never reached the review`);
        await sleep(100);
      }
      own.worker.shutdown();
      while (own.worker.getState() !== 'STOPPED') await sleep(50);

      const before = await callbackCounters();
      const reference = { applicationId: handle.workflowId, step: 'license' };
      const answer = callBack(
        'market',
        { ticket: 'MARKET-LATE', status: 'approved', reference, result: LICENSE_RESULT },
        own.api.url,
      );
      // Closed once the callback's query is out (no worker answers it): the callback is then surely waiting. A fixed
      // pause here could, under load, close the workflow before the callback came in, which is another case.
      for (let waited = 0; (await callbackCounters()).queries === before.queries; waited += 50) {
        if (waited > 15_000) throw new Error('the callback never asked the application');
        await sleep(50);
      }
      await handle.terminate('closed by an administrator while a callback waits');
      expect(await answer).toBe(204);
      expect(await signalsIn(handle.workflowId)).toBe(0);
      expect(await outcomesSince(before)).toEqual({ finished: 1 });
    } finally {
      await own.close();
    }
  }, 60_000);

  it('when a signed callback is sent again (a replay), then it is answered 204 as a duplicate without asking the application; a failed one may be sent again', async () => {
    await patchSimulator(stack.simulator, allAgencies({ processingMs: 0, callbacks: false }));
    const id = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    await waitFor(id, (s) => s.pendingTasks.includes('review'));
    const reference = { applicationId: id, step: 'name' };
    const unknownTicket = signCallbackNow({
      ticket: 'MARKET-REPLAYED',
      status: 'approved',
      reference,
      result: NAME_RESULT,
    });
    const counted = await callbackCounters();
    expect(await sendSigned('market', unknownTicket)).toBe(204);
    expect(await signalsIn(id)).toBe(1);
    for (let i = 0; i < 3; i++) expect(await sendSigned('market', unknownTicket)).toBe(204);
    expect(await signalsIn(id)).toBe(1);
    const after = await callbackCounters();
    expect(outcomesBetween(counted, after)).toEqual({ signalled: 1, duplicate: 3 });
    expect(after.queries - counted.queries).toBe(1);
    // Copies arriving together, while the first is being placed, are not placed too.
    const together = signCallbackNow({ ticket: 'MARKET-TOGETHER', status: 'approved', reference, result: NAME_RESULT });
    expect(await Promise.all([1, 2, 3].map(() => sendSigned('market', together)))).toEqual([204, 204, 204]);
    expect(await signalsIn(id)).toBe(2);
    expect(outcomesBetween(after, await callbackCounters())).toEqual({ signalled: 1, duplicate: 2 });

    // One the API could not take (no such application: 404) is not remembered: the agency may send it again.
    const missing = signCallbackNow({
      ticket: 'MARKET-X',
      status: 'approved',
      reference: { applicationId: 'kb-00000000000000000000000000000001', step: 'name' },
      result: NAME_RESULT,
    });
    expect(await sendSigned('market', missing)).toBe(404);
    expect(await sendSigned('market', missing)).toBe(404);
  });

  it('when a callback names an application that does not exist, then 404, counted as not_found', async () => {
    const before = await callbackCounters();
    const reference = { applicationId: 'kb-00000000000000000000000000000000', step: 'name' };
    expect(await callBack('market', { ticket: 'MARKET-X', status: 'approved', reference, result: NAME_RESULT })).toBe(
      404,
    );
    expect(await outcomesSince(before)).toEqual({ not_found: 1 });
  });

  it("when an agency's callback names a ticket of another step, then 409 TICKET_MISMATCH; and a decision signalled for the wrong step does not decide the step holding that ticket", async () => {
    // The police decide 5 s after the filing and call back; the other agencies decide in their answers.
    const { id, waiting } = await sealWaitingBesideTax({ processingMs: 5000, callbacks: true }, 'pending');
    const sealTicket = waiting.steps.find((s) => s.id === 'seal')!.ticket!;
    // Signed with the tax bureau's key, naming the tax step, carrying the police's ticket: a seal "approved" with no seals.
    const counted = await callbackCounters();
    const reference = { applicationId: id, step: 'tax' };
    expect(
      await callBack('tax', { ticket: sealTicket, status: 'approved', reference, result: { taxRecordId: 'TAX-1' } }),
    ).toBe(409);
    expect(await outcomesSince(counted)).toEqual({ foreign: 1 });
    expect(await signalsIn(id)).toBe(0);
    // The same decision signalled past the API (as two agencies' alike tickets would reach it): it is the tax step's only.
    await env.client.workflow
      .getHandle(id)
      .signal(agencyDecisionSignal, { step: 'tax', ticket: sealTicket, status: 'approved', result: {} });

    const done = await waitFor(id, (s) => s.status !== 'running', 30_000);
    expect(done.status).toBe('completed');
    expect(done.steps.find((s) => s.id === 'seal')).toMatchObject({ state: 'done', decidedVia: 'callback' });
    expect(done.results.seals).toEqual(
      expect.arrayContaining([expect.objectContaining({ recordId: expect.any(String) })]),
    );
    const history = await env.client.workflow.getHandle(id).fetchHistory();
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    expect(markers).toHaveLength(1);
  });

  it("when a callback names a step whose filing is still unanswered, then the workflow asks for patience even if another step holds an alike ticket (two agencies' numbering may meet)", async () => {
    // The police answer the seal's filing after 4 s; the tax bureau decides in its answer.
    const { id, waiting } = await sealWaitingBesideTax(
      { processingMs: 0, callbacks: false, answerDelayMs: 4000 },
      'filing',
    );
    const taxTicket = waiting.steps.find((s) => s.id === 'tax')!.ticket!;
    const verdicts = await env.client.workflow.getHandle(id).query(callbackVerdictsQuery, [
      { ticket: taxTicket, step: 'seal' }, // the police's ticket may be alike: its answer is on its way
      { ticket: taxTicket, step: 'tax' },
      { ticket: taxTicket, step: 'social' }, // done with a ticket of its own: this one is the tax bureau's
    ]);
    expect(verdicts).toEqual(['filing', 'decided', 'foreign']);
    await waitFor(id, (s) => s.status === 'completed');
  });

  it("when an agency's signed callback speaks for another agency's step, then 403, and nothing reaches the workflow", async () => {
    // The bank's key proves the bank sent it; a license decision is the market regulator's to give.
    const { handle, reference } = await licenseInReview();
    const before = await callbackCounters();
    expect(await callBack('bank', { ticket: 'MARKET-FORGED', status: 'approved', reference, result: {} })).toBe(403);
    expect(await outcomesSince(before)).toEqual({});
    expect(await signalsIn(handle.workflowId)).toBe(0);
    await handle.terminate('test done');
  });

  it('when an agency approves the license without a valid USCC, then 400 naming result.uscc and the rule, and nothing reaches the workflow', async () => {
    // Taken as a decision, the five agencies after the license would have been sent "undefined" and refused it.
    const { handle, reference } = await licenseInReview();
    const before = await callbackCounters();
    for (const result of [{}, { uscc: '91360102MA35X7K2X1' }]) {
      const callback = signCallbackNow({ ticket: 'MARKET-NO-USCC', status: 'approved', reference, result });
      const answer = await fetch(`${stack.api.url}/v1/agency-callbacks/market`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...callback.headers },
        body: callback.raw,
      });
      expect(answer.status).toBe(400);
      const { error } = (await answer.json()) as { error: { code: string; issues: { path: string; code: string }[] } };
      expect(error.code).toBe('CALLBACK_INVALID');
      expect(error.issues).toEqual([expect.objectContaining({ path: 'result.uscc' })]);
    }
    expect(await outcomesSince(before)).toEqual({});
    expect(await signalsIn(handle.workflowId)).toBe(0);
    // The same approval with a valid USCC is taken (the ticket is unknown to the workflow: signalled).
    expect(
      await callBack('market', { ticket: 'MARKET-NO-USCC', status: 'approved', reference, result: LICENSE_RESULT }),
    ).toBe(204);
    expect(await signalsIn(handle.workflowId)).toBe(1);
    await handle.terminate('test done');
  });
});
