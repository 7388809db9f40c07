/** Starting Kaiban applications and baseline runs the same way, and waiting for them. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import { requestHash } from '../api/ids';
import type { Application } from '../domain/application';
import type { StepId } from '../domain/steps';
import { createOfficialCalendar } from '../domain/calendar/official';
import { DEFAULT_SLA_TERMS, provisionalDueAt } from '../domain/sla';
import { submissionSearchAttributes } from '../infra/search-attributes';
import { ownerTagger } from '../security/owner-index';
import type { BusinessStartupInput } from '../workflows/businessStartup';
import type { BaselineInput } from './baseline-workflow';
import { BENCH_OWNER_INDEX_KEY, type BenchEnvironment } from './environment';
import { sleep } from './stats';

const SAMPLE: Application = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../shared/fixtures/application.sample.json'), 'utf8'),
) as Application;

const NAME_CHARS = '青山绿水蓝天白云金木火土东南西北春夏秋冬梅兰竹菊';
let counter = Date.now() % 1_000_000_000;

/** The sample application under a company name no other run has reserved (the market regulator refuses a taken name). */
export function benchApplication(options: { word?: string } = {}): Application {
  let n = counter++;
  let word = '';
  for (let i = 0; i < 8; i++) {
    word += NAME_CHARS[n % NAME_CHARS.length];
    n = Math.floor(n / NAME_CHARS.length);
  }
  const app = structuredClone(SAMPLE);
  // `投资` (investment) is a sensitive word: the automatic rules send the license to manual review.
  app.company.name = `南昌${word}${options.word ?? '科技'}有限公司`;
  return app;
}

/** The bench runs with the shipped calendar and PRODUCT.md's budgets (no SLA_* settings): the API's defaults. */
let officialCalendar: ReturnType<typeof createOfficialCalendar> | undefined;
const calendar = () => (officialCalendar ??= createOfficialCalendar());
/** What the API sets as KaibanOwner for the benchmark's applicant, so a start carries the same attributes. */
const BENCH_OWNER = ownerTagger(BENCH_OWNER_INDEX_KEY)('bench-applicant');

export const newId = () => `kb-${randomUUID().replace(/-/g, '')}`;

export function startKaiban(
  env: BenchEnvironment,
  application: Application,
  taskQueue = env.kaibanQueue,
): Promise<WorkflowHandle> {
  return startKaibanWith(env.kaibanClient, taskQueue, application);
}

/** Starts businessStartup as the API does (same options), without the HTTP hop. */
export function startKaibanWith(client: Client, taskQueue: string, application: Application): Promise<WorkflowHandle> {
  const id = newId();
  const submittedAt = Date.now();
  const input: BusinessStartupInput = {
    applicationId: id,
    application,
    submittedAt: new Date(submittedAt).toISOString(),
  };
  return client.workflow.start('businessStartup', {
    taskQueue,
    workflowId: id,
    args: [input],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    memo: { requestHash: requestHash(application), owner: 'bench-applicant' },
    typedSearchAttributes: submissionSearchAttributes(
      application.company,
      provisionalDueAt(calendar(), DEFAULT_SLA_TERMS, submittedAt),
      BENCH_OWNER,
    ),
  });
}

export function startBaseline(
  env: BenchEnvironment,
  application: Application,
  parkAfter?: StepId,
): Promise<WorkflowHandle> {
  const id = newId();
  const input: BaselineInput = {
    applicationId: id,
    application,
    submittedAt: new Date().toISOString(),
    ...(parkAfter ? { parkAfter } : {}),
  };
  return env.bareClient.workflow.start('baselineStartup', {
    taskQueue: env.baselineQueue,
    workflowId: id,
    args: [input],
  });
}

export type Kind = 'kaiban' | 'baseline';

export function startOne(env: BenchEnvironment, kind: Kind): Promise<WorkflowHandle> {
  return kind === 'kaiban' ? startKaiban(env, benchApplication()) : startBaseline(env, benchApplication());
}

/** The workflow's final status name ('completed' for both kinds when all went well). */
export async function finalStatus(handle: WorkflowHandle): Promise<string> {
  const result = (await handle.result()) as { status?: string };
  return result?.status ?? 'unknown';
}

/** Tasks waiting in a task queue's backlog (workflow and activity), as the server reports them. */
export async function backlog(client: Client, taskQueue: string): Promise<number> {
  let total = 0;
  for (const taskQueueType of [1, 2] /* workflow, activity */) {
    const response = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
      reportStats: true,
    });
    total += Number(response.stats?.approximateBacklogCount ?? 0);
  }
  return total;
}

/** Waits until `done()` holds and the task queue's backlog has stayed empty for `quietMs`. */
export async function waitUntilSettled(
  client: Client,
  taskQueue: string,
  done: () => Promise<boolean>,
  options: { quietMs?: number; timeoutMs?: number } = {},
): Promise<void> {
  const quietMs = options.quietMs ?? 3000;
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let quietSince: number | undefined;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`not settled within ${options.timeoutMs} ms`);
    const idle = (await backlog(client, taskQueue)) === 0 && (await done());
    if (!idle) quietSince = undefined;
    else if (quietSince === undefined) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return;
    await sleep(500);
  }
}
