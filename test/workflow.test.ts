/**
 * The businessStartup workflow on the Temporal dev server, with the real agency simulator and the
 * real API receiving the agencies' callbacks. (Not on the time-skipping test server: it rejects
 * workflow-task completions now and then — "invalid history builder state for action" — when
 * several agency callbacks arrive as signals at once. The polling fallback's timer is set short
 * here instead, through the same setting production uses.)
 */
import { randomUUID } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { isValidUscc } from '../domain/codes';
import type { ApplicationStatus, StepStatus } from '../domain/status';
import type { StepId } from '../domain/steps';
import { testDataConverter } from './helpers/auth';
import { freshApplication, startApplication } from './helpers/fixtures';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { updateRejection, waitForStatus } from './helpers/wait';
import { correctionUpdate, reviewUpdate } from '../workflows/messages';

let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env, {
    simulator: {
      agencies: {
        police: { processingMs: 300 },
        tax: { processingMs: 300 },
        hrss: { processingMs: 300 },
        fund: { processingMs: 300 },
      },
    },
    settings: { pollInitialMs: 1000, pollMaxMs: 2000 },
  });
});

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const start = (edit?: Parameters<typeof freshApplication>[0]) =>
  startApplication(env.client, { taskQueue: stack.taskQueue, edit });

const step = (status: ApplicationStatus, id: StepId): StepStatus => status.steps.find((s) => s.id === id)!;
const PARALLEL_STEPS: StepId[] = ['seal', 'tax', 'social', 'fund'];

describe('businessStartup', () => {
  it('runs the whole chain to completion with every result', async () => {
    const handle = await start();
    const status = (await handle.result()) as ApplicationStatus;

    expect(status.status).toBe('completed');
    for (const s of status.steps) {
      expect(s.state).toBe('done');
      expect(s.attempts).toBeGreaterThanOrEqual(1);
      expect(Date.parse(s.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(s.startedAt!));
    }
    expect(isValidUscc(status.results.uscc!)).toBe(true);
    expect(status.results.uscc!.slice(2, 8)).toBe('360113');
    expect(status.results.licenseNumber).toEqual(expect.any(String));
    expect(status.results.seals).toHaveLength(3);
    expect(status.results.socialSecurityNumber).toEqual(expect.any(String));
    expect(status.results.fundAccountNumber).toEqual(expect.any(String));
    expect(status.results.bankAppointment).toMatchObject({ appointmentRef: expect.any(String) });
    expect(status.results.dossier?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Dependencies hold: nothing starts before what it needs has finished.
    for (const s of status.steps) {
      for (const need of s.needs)
        expect(Date.parse(s.startedAt!)).toBeGreaterThanOrEqual(Date.parse(step(status, need).finishedAt!));
    }
  });

  it('files seal, tax, social and fund in parallel: one workflow task schedules all four filings', async () => {
    const handle = await start();
    await handle.result();
    const codec = testDataConverter().payloadCodecs![0]!;
    const events = (await handle.fetchHistory()).events ?? [];
    const filings = await Promise.all(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'fileAgencyRequest')
        .map(async (e) => {
          const scheduled = e.activityTaskScheduledEventAttributes!;
          const [input] = await codec.decode(scheduled.input!.payloads! as Payload[]);
          return {
            step: defaultPayloadConverter.fromPayload<{ step: StepId }>(input!).step,
            task: String(scheduled.workflowTaskCompletedEventId),
          };
        }),
    );
    const parallel = filings.filter((f) => PARALLEL_STEPS.includes(f.step));
    expect(parallel.map((f) => f.step).sort()).toEqual([...PARALLEL_STEPS].sort());
    // Scheduled by the same workflow task: none waited for another's decision (wall-clock times would not show it).
    expect(new Set(parallel.map((f) => f.task)).size).toBe(1);
    expect((await agencyRecords(stack.simulator, handle.workflowId)).map((r) => r.reference.step)).toEqual(
      expect.arrayContaining(PARALLEL_STEPS),
    );
  });

  it('retries a transient agency failure until the agency answers', async () => {
    await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 1 } } });
    try {
      const handle = await start();
      // Wait for a second attempt, then let the agency answer again.
      for (let i = 0; i < 100; i++) {
        const d = await handle.describe();
        const pending = d.raw.pendingActivities?.find((a) => a.activityType?.name === 'fileAgencyRequest');
        if ((pending?.attempt ?? 0) >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
      const status = (await handle.result()) as ApplicationStatus;
      expect(status.status).toBe('completed');
      expect(step(status, 'seal').attempts).toBeGreaterThanOrEqual(2);
      const seals = (await agencyRecords(stack.simulator, handle.workflowId)).filter(
        (r) => r.reference.step === 'seal',
      );
      expect(seals).toHaveLength(1);
    } finally {
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    }
  });

  it("when the regulator refuses the name, then an operator reviews it with the regulator's reason; approving is refused, a corrected name is reserved and the application completes", async () => {
    const handle = await start((app) => {
      app.company.name = '南昌国家云数科技有限公司';
    });
    const reviewing = await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    expect(reviewing.status).toBe('running');
    expect(step(reviewing, 'name')).toMatchObject({
      state: 'rejected',
      error: { code: 'AGENCY_REJECTED', reason: { code: 'NAME_FORBIDDEN_WORD' } },
    });
    expect(reviewing.review).toMatchObject({ decision: 'manual_review', state: 'pending' });
    expect(reviewing.review!.findings[0]).toMatchObject({ code: 'NAME_REFUSED', path: 'company.name' });
    expect(reviewing.review!.findings[0]!.reason.en).toContain('NAME_FORBIDDEN_WORD');
    const by = { subject: 'op-1', role: 'operator' as const };
    expect(
      await updateRejection(
        handle.executeUpdate(reviewUpdate, {
          args: [{ actionId: randomUUID(), by, decision: 'approve', reason: 'ok' }],
        }),
      ),
    ).toMatchObject({ type: 'NAME_REFUSED' });
    await handle.executeUpdate(reviewUpdate, {
      args: [
        {
          actionId: randomUUID(),
          by,
          decision: 'request_correction',
          reason: '名称含禁用词',
          fields: ['company.name'],
        },
      ],
    });
    await waitForStatus(handle, (s) => s.pendingTasks.includes('correction'));
    const corrected = freshApplication();
    await handle.executeUpdate(correctionUpdate, {
      args: [{ actionId: randomUUID(), by: { subject: 'applicant-1', role: 'applicant' }, application: corrected }],
    });
    await waitForStatus(handle, (s) => s.pendingTasks.includes('review'));
    await handle.executeUpdate(reviewUpdate, {
      args: [{ actionId: randomUUID(), by, decision: 'approve', reason: '名称已更正' }],
    });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(step(status, 'name')).toMatchObject({ state: 'done', output: { reservedName: corrected.company.name } });
    expect(step(status, 'name').error).toBeUndefined();
    // The refused reservation held nothing: it was not undone.
    expect(status.compensations).toEqual([]);
    const names = (await agencyRecords(stack.simulator, handle.workflowId)).filter(
      (r) => r.procedure === 'name_reservation',
    );
    expect(names.map((r) => r.status).sort()).toEqual(['approved', 'rejected']);
  });

  it('recovers a lost callback by polling', async () => {
    await patchSimulator(stack.simulator, { agencies: { market: { dropCallbackRate: 1 } } });
    try {
      const handle = await start();
      const status = (await handle.result()) as ApplicationStatus;
      expect(status.status).toBe('completed');
      expect(step(status, 'name').decidedVia).toBe('poll');
      expect(step(status, 'license').decidedVia).toBe('poll');
    } finally {
      await patchSimulator(stack.simulator, { agencies: { market: { dropCallbackRate: 0 } } });
    }
  });
});
