/**
 * Encryption at rest in Temporal (PIPL arts. 28, 51) on the dev server: what Temporal stores —
 * read with a client that has no codec — holds no ID number, mobile number, e-mail or name in
 * the clear; with the codec everything still runs; and keys rotate without breaking a running
 * application.
 */
import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { startApi, type RunningApi } from '../../api/server';
import { loadConfig } from '../../config';
import type { ApplicationStatus } from '../../domain/status';
import { AGENCY_IDS } from '../../domain/steps';
import { createLogger } from '../../observability/logger';
import { dataConverter, ENCRYPTED_ENCODING, KEY_ID_METADATA, newCodecKeySpec } from '../../security/codec';
import { startSimulator } from '../../simulator/server';
import { activityDepsFromConfig, createKaibanWorker } from '../../worker/worker';
import { securityTestEnv, tokenFor } from '../helpers/auth';
import { freshApplication } from '../helpers/fixtures';
import { CALLBACK_SECRET, startStack, type Stack } from '../helpers/stack';
import { startDevServer, workflowBundle } from '../helpers/temporal';
import { call, samplePersonalData } from './support';

let env: TestWorkflowEnvironment;
let stack: Stack;
/** A client as an attacker with database access would have it: no codec. */
let rawClient: Client;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
  rawClient = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 300)}`);
    await sleep(150);
  }
}

/** The raw history and description as Temporal stores them, every byte string read as UTF-8. */
async function storedText(workflowId: string): Promise<string> {
  const history = await rawClient.workflow.getHandle(workflowId).fetchHistory();
  const description = await rawClient.workflowService.describeWorkflowExecution({
    namespace: env.namespace ?? 'default',
    execution: { workflowId },
  });
  return JSON.stringify(readable({ history, description }));
}

/** Byte strings as UTF-8 text (before JSON.stringify, which would turn a Buffer into a list of numbers). */
function readable(value: unknown, depth = 0): unknown {
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => readable(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, readable(v, depth + 1)]));
}

interface StoredPayload {
  path: string;
  encoding?: string;
  keyId?: string;
}

/** Every payload in a history (objects with `metadata` and `data`), except search attributes, which Temporal must index. */
function payloadsIn(value: unknown, path = ''): StoredPayload[] {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return [];
  const record = value as Record<string, unknown>;
  if (ArrayBuffer.isView(record.data) && record.metadata && typeof record.metadata === 'object') {
    const meta = record.metadata as Record<string, Uint8Array>;
    const text = (b?: Uint8Array) => (b ? Buffer.from(b).toString('utf8') : undefined);
    return [{ path, encoding: text(meta.encoding), keyId: text(meta[KEY_ID_METADATA]) }];
  }
  return Object.entries(record).flatMap(([k, v]) => (k === 'searchAttributes' ? [] : payloadsIn(v, `${path}.${k}`)));
}

function expectNoPersonalData(stored: string, extra: string[] = []): void {
  const { idNumbers, phones, names, emails } = samplePersonalData();
  for (const secret of [...idNumbers, ...phones, ...names, ...emails, ...extra]) {
    expect({ secret, found: stored.includes(secret) }).toEqual({ secret, found: false });
  }
}

describe('payloads at rest', () => {
  it('when applications run (submission, agency callbacks, review, correction with a new phone), then Temporal stores no personal data in the clear', async () => {
    const applicant = await tokenFor('applicant', 'applicant-enc');
    const operator = await tokenFor('operator', 'op-enc');
    const api = (method: string, path: string, token: string, json?: unknown) =>
      call(stack.api.url, method, path, { token, json });
    const statusOf = (id: string) =>
      api('GET', `/v1/applications/${id}`, applicant).then((r) => r.body as ApplicationStatus);

    const completed = (await api('POST', '/v1/applications', applicant, freshApplication())).body.id as string;
    const reviewed = (
      await api(
        'POST',
        '/v1/applications',
        applicant,
        freshApplication((a) => void (a.company.name = a.company.name.replace('科技', '投资'))),
      )
    ).body.id as string;
    const withdrawn = (await api('POST', '/v1/applications', applicant, freshApplication())).body.id as string;
    expect(
      (
        await api('POST', `/v1/applications/${withdrawn}/withdraw`, applicant, {
          reason: '联系人 13807910001 改主意了',
        })
      ).status,
    ).toBeLessThan(500);

    await until(
      () => statusOf(reviewed),
      (s) => s.pendingTasks.includes('review'),
    );
    const asked = await api('POST', `/v1/applications/${reviewed}/review`, operator, {
      decision: 'request_correction',
      reason: '请核对名称',
      fields: ['company.name'],
    });
    expect(asked.status).toBe(200);
    await until(
      () => statusOf(reviewed),
      (s) => s.pendingTasks.includes('correction'),
    );
    const newPhone = '13607915678';
    const corrected = await api('POST', `/v1/applications/${reviewed}/corrections`, applicant, {
      company: { name: freshApplication().company.name },
      applicant: { phone: newPhone },
    });
    expect(corrected.status).toBe(200);
    await until(
      () => statusOf(reviewed),
      (s) => s.pendingTasks.includes('review'),
    );
    expect(
      (await api('POST', `/v1/applications/${reviewed}/review`, operator, { decision: 'approve', reason: '已核对' }))
        .status,
    ).toBe(200);

    // With the codec, everything ran and the API answers as usual.
    for (const id of [completed, reviewed])
      expect(
        (
          await until(
            () => statusOf(id),
            (s) => s.status === 'completed',
          )
        ).status,
      ).toBe('completed');
    await until(
      () => statusOf(withdrawn),
      (s) => !['running', 'compensating'].includes(s.status),
    );

    for (const id of [completed, reviewed, withdrawn]) {
      const stored = await storedText(id);
      expectNoPersonalData(stored, [newPhone, 'applicant-enc']);
      const payloads = payloadsIn(await rawClient.workflow.getHandle(id).fetchHistory());
      // Withdrawn right after submission, the application may end before anything is filed: fewer payloads.
      expect(payloads.length).toBeGreaterThan(id === withdrawn ? 4 : 10);
      // The one payload the SDK writes past the codec: a patch marker's id (workflows/businessStartup.ts patches).
      const clear = payloads.filter(
        (p) =>
          p.encoding !== ENCRYPTED_ENCODING && !/markerRecordedEventAttributes\.details\.patch-data\./.test(p.path),
      );
      expect(clear).toEqual([]);
    }
  });

  it('when a workflow is started without the codec (the control), then the same check finds the personal data', async () => {
    const id = `kb-${randomUUID().replace(/-/g, '')}`;
    const handle = await rawClient.workflow.start('businessStartup', {
      taskQueue: `no-worker-${randomUUID()}`,
      workflowId: id,
      args: [{ applicationId: id, application: freshApplication(), submittedAt: new Date().toISOString() }],
    });
    try {
      const stored = await storedText(id);
      const { idNumbers, names } = samplePersonalData();
      expect(stored).toContain(idNumbers[0]);
      expect(stored).toContain(names[0]);
    } finally {
      await handle.terminate('control done');
    }
  });

  it('when a client without the key reads an application, then it cannot decode anything', async () => {
    const id = (
      await call(stack.api.url, 'POST', '/v1/applications', {
        token: await tokenFor('applicant'),
        json: freshApplication(),
      })
    ).body.id as string;
    const stranger = new Client({ connection: env.connection, namespace: env.namespace ?? 'default' });
    await expect(stranger.workflow.getHandle(id).result()).rejects.toThrow();
  });
});

describe('key rotation', () => {
  it('when a workflow started under key 1 and the config moves to "k2,k1", then it completes, and new payloads use k2', async () => {
    const k1 = newCodecKeySpec('k1');
    const k2 = newCodecKeySpec('k2');
    const taskQueue = `kaiban-rotation-${randomUUID()}`;
    const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    // The seal filing takes a while, so the application is mid-way when the keys change.
    const simulator = await startSimulator({
      port: 0,
      seed: 'rotation',
      logger,
      callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, CALLBACK_SECRET])) as Record<
        (typeof AGENCY_IDS)[number],
        string
      >,
      agencies: { police: { processingMs: 3000 } },
    });
    const configWith = (keys: string) =>
      loadConfig({
        ...process.env,
        ...securityTestEnv(),
        KAIBAN_CODEC_KEYS: keys,
        PORT: '0',
        TEMPORAL_TASK_QUEUE: taskQueue,
        AGENCY_BASE_URL: simulator.url,
        AGENCY_CALLBACK_SECRET: CALLBACK_SECRET,
        // The first API goes away with its callbacks in flight: polling finds those decisions.
        AGENCY_POLL_INITIAL_SECONDS: '1',
        AGENCY_POLL_MAX_SECONDS: '2',
      });

    /** API and worker as one deployment would run them, with the given keys. */
    async function deploy(
      keys: string,
    ): Promise<{ api: RunningApi; client: Client; worker: Worker; stop(): Promise<void> }> {
      const config = configWith(keys);
      const client = new Client({
        connection: env.connection,
        namespace: env.namespace ?? 'default',
        dataConverter: dataConverter(config),
      });
      const api = await startApi({ config, client, logger, port: 0 });
      const worker = await createKaibanWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        activityDeps: { ...activityDepsFromConfig(config, logger), callbackBaseUrl: api.url },
        dataConverter: dataConverter(config),
        workflowBundle: await workflowBundle(),
      });
      const running = worker.run();
      return {
        api,
        client,
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
          await api.close();
        },
      };
    }

    try {
      const applicant = await tokenFor('applicant', 'applicant-rotation');
      const first = await deploy(k1);
      const id = (await call(first.api.url, 'POST', '/v1/applications', { token: applicant, json: freshApplication() }))
        .body.id as string;
      const statusVia = (url: string) =>
        call(url, 'GET', `/v1/applications/${id}`, { token: applicant }).then((r) => r.body as ApplicationStatus);
      await until(
        () => statusVia(first.api.url),
        (s) => s.steps.find((step) => step.id === 'license')?.state === 'done',
      );
      await first.stop();

      const second = await deploy(`${k2},${k1}`);
      try {
        const final = await until(
          () => statusVia(second.api.url),
          (s) => s.status === 'completed',
          60_000,
        );
        expect(final.status).toBe('completed');
        const keyIds = new Set(payloadsIn(await rawClient.workflow.getHandle(id).fetchHistory()).map((p) => p.keyId));
        expect(keyIds).toEqual(new Set(['k1', 'k2']));
        // What the second deployment wrote (the result) is under k2 only: a k2-only reader gets the result...
        const k2Only = new Client({
          connection: env.connection,
          namespace: env.namespace ?? 'default',
          dataConverter: dataConverter(configWith(k2)),
        });
        expect(((await k2Only.workflow.getHandle(id).result()) as ApplicationStatus).status).toBe('completed');
        // ...while the input, written under k1, needs k1: old keys stay listed until nothing uses them.
        const k2Reader = await k2Only.workflow.getHandle(id).fetchHistory();
        expect(new Set(payloadsIn(k2Reader.events?.[0]).map((p) => p.keyId))).toEqual(new Set(['k1']));
      } finally {
        await second.stop();
      }
    } finally {
      await simulator.close();
    }
  }, 90_000);
});
