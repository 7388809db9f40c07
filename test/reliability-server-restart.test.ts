/**
 * Reliability: the Temporal dev server goes away mid-run — killed outright — and comes back on
 * the same SQLite file and port. Workers, API and clients reconnect by themselves; callbacks lost
 * while it was away are recovered by polling; every application completes, nothing is filed twice.
 * An applicant who submits meanwhile is told to try again (503 TEMPORAL_UNAVAILABLE, Retry-After).
 */
import { authHeaders } from './helpers/auth';
import { freshApplication } from './helpers/fixtures';
import type { NodeProcess } from './helpers/processes';
import {
  countWorkflows,
  duplicateOrMissingFilings,
  startReliabilityStack,
  submit,
  until,
  waitForResults,
  type ReliabilityStack,
} from './helpers/reliability-stack';

const APPLICATIONS = 40;

let stack: ReliabilityStack;
let worker: NodeProcess;

beforeAll(async () => {
  stack = await startReliabilityStack({
    simulator: {
      agencies: Object.fromEntries(
        ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, { processingMs: 800 }]),
      ),
    },
  });
  await stack.startApiHere();
  worker = await stack.startWorker();
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

describe('Temporal server restarted mid-run', () => {
  it('when the dev server is killed and restarted on the same SQLite file, then every application completes with exactly one filing per step', async () => {
    const ids = await Promise.all(
      Array.from(
        { length: APPLICATIONS },
        async (_, i) => (await submit(stack.apiUrl, freshApplication(), `server-restart-${i}`)).id,
      ),
    );
    await until(
      () => countWorkflows(stack, `KaibanStatus = 'running'`),
      (n) => n >= APPLICATIONS / 2,
      30_000,
      'applications running',
    );
    const pidBefore = stack.temporal.pid;

    await stack.temporal.stop('SIGKILL');
    // Agencies decide meanwhile; their callbacks fail against an API that cannot reach Temporal. So does a submission,
    // once the client's own retries are spent (some 20 s): a 503 that says to try again, not a 500.
    const late = freshApplication();
    // A keyed submission whose bank date has passed may be the repeat of one taken when that date was today: the
    // answer waits for Temporal (503), not a 400 that would have the applicant mend the date and submit twice.
    const overdue = freshApplication((a) => void (a.services.bank.preferredDate = '2021-01-04'));
    const send = async (application: unknown, key: string) =>
      fetch(`${stack.apiUrl}/v1/applications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, ...(await authHeaders('applicant')) },
        body: JSON.stringify(application),
      });
    const answers = await Promise.all([send(late, 'server-restart-late'), send(overdue, 'server-restart-overdue')]);
    for (const refused of answers) {
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('TEMPORAL_UNAVAILABLE');
    }
    await stack.temporal.start();
    expect(stack.temporal.pid).not.toBe(pidBefore);
    // Sent again with its key once the server is back: one application.
    ids.push((await submit(stack.apiUrl, late, 'server-restart-late')).id);

    const results = await waitForResults(stack.client, ids, 90_000);
    expect([...results.values()].filter((s) => s.status !== 'completed').map((s) => `${s.id}: ${s.status}`)).toEqual(
      [],
    );
    expect(await duplicateOrMissingFilings(stack.simulator, ids)).toEqual([]);
    expect(await countWorkflows(stack)).toBe(APPLICATIONS + 1);
    // The same worker process rode out the outage: it reconnected by itself.
    expect(worker.running).toBe(true);
  }, 150_000);
});
