/**
 * The archive step notifies the applicant through the city's message platform (PRODUCT.md: "notify the applicant"),
 * here the simulator's `POST /notifications`: once per application, with the codes they start trading with and the
 * sealed dossier. A platform that cannot be reached makes the archive step an incident, as an agency would. Dev
 * server, real simulator, real HTTP.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { authHeaders } from './helpers/auth';
import { sampleApplication, startApplication } from './helpers/fixtures';
import { freePort } from './helpers/processes';
import { schemaProblems } from './helpers/openapi';
import { startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;
let unreachable: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
  unreachable = await startStack(env, {
    settings: { agencyMaxAttempts: 2 },
    env: { APPLICANT_NOTIFY_URL: `http://127.0.0.1:${await freePort()}/notifications` },
  });
});

afterAll(async () => {
  await stack?.close();
  await unreachable?.close();
  await env?.teardown();
});

interface Sent {
  notificationId: string;
  applicationId: string;
  to: { name: string; phone: string; email?: string };
  message: { zh: string; en: string };
  results: { uscc?: string; licenseNumber?: string };
  dossier: { dossierId: string; digest: string };
  acceptedAt: string;
}

async function notificationsOf(applicationId: string): Promise<Sent[]> {
  const res = await fetch(`${stack.simulator.url}/notifications?applicationId=${applicationId}`);
  return ((await res.json()) as { notifications: Sent[] }).notifications;
}

const archive = (s: ApplicationStatus) => s.steps.find((x) => x.id === 'archive')!;

it('when an application completes, then its applicant is notified once, with the USCC and the sealed dossier', async () => {
  const handle = await startApplication(env.client, { taskQueue: stack.taskQueue });
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  expect(schemaProblems('ApplicationStatus', status)).toEqual([]);
  const applicant = sampleApplication().applicant;
  const sent = await notificationsOf(handle.workflowId);
  expect(sent).toHaveLength(1);
  expect(sent[0]).toMatchObject({
    notificationId: `NTF-${handle.workflowId}`,
    to: { name: applicant.name, phone: applicant.phone, email: applicant.email },
    results: { uscc: status.results.uscc, licenseNumber: status.results.licenseNumber },
    dossier: { dossierId: status.results.dossier!.dossierId, digest: status.results.dossier!.digest },
  });
  expect(sent[0]!.message.zh).toContain(`统一社会信用代码 ${status.results.uscc}`);
  expect(sent[0]!.message.en).toContain(status.results.dossier!.dossierId);
  // The archive step says so, with the platform's own receipt.
  expect(archive(status).output).toMatchObject({
    applicantNotified: { notificationId: `NTF-${handle.workflowId}`, acceptedAt: sent[0]!.acceptedAt },
  });

  // The same notification again (a retried attempt whose answer was lost) is the same message, not a second one.
  const again = await fetch(`${stack.simulator.url}/notifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': sent[0]!.notificationId },
    body: JSON.stringify(sent[0]),
  });
  expect(again.status).toBe(200);
  expect(await again.json()).toEqual({ notificationId: sent[0]!.notificationId, acceptedAt: sent[0]!.acceptedAt });
  expect(await notificationsOf(handle.workflowId)).toHaveLength(1);
});

it('when the message platform cannot be reached, then the archive step is an incident an operator can mark done offline', async () => {
  const handle = await startApplication(env.client, { taskQueue: unreachable.taskQueue });
  const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:archive'), 60_000);
  expect(archive(incident)).toMatchObject({
    state: 'incident',
    error: { code: 'STEP_INCIDENT', message: expect.stringContaining('message platform is unreachable') },
  });
  const res = await fetch(`${unreachable.api.url}/v1/applications/${handle.workflowId}/steps/archive/skip`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await authHeaders('operator')) },
    body: JSON.stringify({ reason: '已电话通知申请人' }),
  });
  expect(res.status).toBe(200);
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  expect(archive(status)).toMatchObject({ state: 'skipped', output: { reason: '已电话通知申请人' } });
  // No sealed dossier to show: the results say none (they showed the operator's note as one).
  expect(status.results.dossier).toBeUndefined();
  expect(schemaProblems('ApplicationStatus', status)).toEqual([]);
});
