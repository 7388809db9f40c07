/**
 * The archive step notifies the applicant through the city's message platform (PRODUCT.md: "notify the applicant"),
 * here the simulator's `POST /notifications`: once per application, with the codes they start trading with and the
 * sealed dossier. A platform that cannot be reached makes the archive step an incident, as an agency would; one that
 * refuses the notification itself leaves the dossier sealed, saying why. Dev server, real simulator, real HTTP.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../domain/status';
import { authHeaders } from './helpers/auth';
import { freshApplication, sampleApplication, startApplication } from './helpers/fixtures';
import { freePort } from './helpers/processes';
import { schemaProblems } from './helpers/openapi';
import { patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';
import { waitForStatus } from './helpers/wait';

let env: TestWorkflowEnvironment;
let stack: Stack;
let unreachable: Stack;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
  unreachable = await startStack(env, {
    // Three attempts a round: the archive is under way (failing) for some 3 s before it is an incident.
    settings: { agencyMaxAttempts: 3 },
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
  dossier: { dossierId: string };
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
  // The platform's list shows the mobile number and e-mail masked, as the simulator's records do.
  expect(sent[0]).toMatchObject({
    notificationId: `NTF-${handle.workflowId}`,
    to: { name: applicant.name, phone: '138****0001', email: 'z***@example.com' },
    results: { uscc: status.results.uscc, licenseNumber: status.results.licenseNumber },
    dossier: { dossierId: status.results.dossier!.dossierId },
  });
  expect(applicant.phone).toBe('13807910001');
  expect(sent[0]!.message.zh).toContain(`统一社会信用代码 ${status.results.uscc}`);
  expect(sent[0]!.message.en).toContain(status.results.dossier!.dossierId);
  // The archive step says so, with the platform's own receipt.
  expect(archive(status).output).toMatchObject({
    applicantNotified: { notificationId: `NTF-${handle.workflowId}`, acceptedAt: sent[0]!.acceptedAt },
  });
  // Counted in the step, not part of its output.
  expect(archive(status).attempts).toBe(1);
  expect(archive(status).output).not.toHaveProperty('attempt');
  expect(status.results.dossier).not.toHaveProperty('attempt');

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

it('when the message platform cannot be reached, then the archive step is an incident that a retry ends once it answers; the started business is no longer withdrawn or aborted', async () => {
  // Submitted by an applicant through the API, so that she may withdraw it.
  const applicant = await authHeaders('applicant');
  const submitted = await fetch(`${unreachable.api.url}/v1/applications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...applicant },
    body: JSON.stringify(freshApplication()),
  });
  expect(submitted.status).toBe(202);
  const handle = env.client.workflow.getHandle(((await submitted.json()) as { id: string }).id);
  // Under way while its attempts fail (not `waiting`, as if its prerequisites were not done).
  const running = await waitForStatus(handle, (s) => archive(s).startedAt !== undefined, 60_000);
  expect(archive(running).state).toBe('filing');
  const incident = await waitForStatus(handle, (s) => s.pendingTasks.includes('incident:archive'), 60_000);
  expect(archive(incident)).toMatchObject({
    state: 'incident',
    attempts: 3, // the stack's agencyMaxAttempts, each of them failed
    error: { code: 'STEP_INCIDENT', message: expect.stringContaining('message platform is unreachable') },
  });
  // Not the platform's address: a token in it would be in every incident's message.
  expect(archive(incident).error!.message).not.toContain('/notifications');
  const post = async (path: string, headers: Record<string, string>, reason = '已电话通知申请人') =>
    fetch(`${unreachable.api.url}/v1/applications/${handle.workflowId}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ reason }),
    });
  const codeOf = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
  const operator = await authHeaders('operator');
  // Every procedure is done: a withdrawal or an abort now would revoke a license the applicant is being told of.
  for (const [path, headers] of [
    ['/withdraw', applicant],
    ['/abort', operator],
  ] as const) {
    const refused = await post(path, headers, '不办了');
    expect(refused.status).toBe(409);
    expect(await codeOf(refused)).toBe('BUSINESS_STARTED');
  }
  // The platform is back (the worker now reaches it): a retry seals the dossier and notifies.
  await unreachable.redeployWorker({ APPLICANT_NOTIFY_URL: `${unreachable.simulator.url}/notifications` });
  expect((await post('/steps/archive/retry', operator)).status).toBe(200);
  const status = (await handle.result()) as ApplicationStatus;
  expect(status.status).toBe('completed');
  expect(status.compensations).toEqual([]);
  expect(schemaProblems('ApplicationStatus', status)).toEqual([]);
  expect(status.results.dossier).toMatchObject({ applicantNotified: { notificationId: `NTF-${handle.workflowId}` } });
  expect(archive(status)).toMatchObject({ state: 'done', attempts: 4 });
  const sent = await fetch(`${unreachable.simulator.url}/notifications?applicationId=${handle.workflowId}`);
  expect(((await sent.json()) as { notifications: Sent[] }).notifications).toHaveLength(1);
});

it('when the message platform stays down, then an operator who told the applicant otherwise ends the archive incident: the dossier is sealed, without a notification, and says so', async () => {
  const down = await startStack(env, { settings: { agencyMaxAttempts: 2 } });
  let handle: WorkflowHandle | undefined;
  try {
    await patchSimulator(down.simulator, { messagePlatform: { available: false } });
    const started = await startApplication(env.client, { taskQueue: down.taskQueue });
    handle = started;
    await waitForStatus(started, (s) => s.pendingTasks.includes('incident:archive'), 60_000);
    const skip = async (body: Record<string, unknown>) =>
      fetch(`${down.api.url}/v1/applications/${started.workflowId}/steps/archive/skip`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await authHeaders('operator')) },
        body: JSON.stringify(body),
      });
    // How the applicant was told is the operator's to say.
    const bare = await skip({});
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('REASON_REQUIRED');
    // The platform back meanwhile: the skip still sends nothing (the applicant was told).
    await patchSimulator(down.simulator, { messagePlatform: { available: true } });
    expect((await skip({ reason: '已电话告知申请人' })).status).toBe(200);
    const status = (await started.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(schemaProblems('ApplicationStatus', status)).toEqual([]);
    // Two attempts failed, one sealed it.
    expect(archive(status)).toMatchObject({ state: 'skipped', attempts: 3 });
    expect(status.results.dossier).toMatchObject({
      dossierId: `DOS-${started.workflowId}`,
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      applicantToldOffline: { reason: '已电话告知申请人' },
    });
    expect(status.results.dossier).not.toHaveProperty('applicantNotified');
    const sent = await fetch(`${down.simulator.url}/notifications?applicationId=${started.workflowId}`);
    expect(((await sent.json()) as { notifications: Sent[] }).notifications).toEqual([]);
  } finally {
    // Failed midway, it would stay open in its incident: a started business is not aborted, so it is terminated.
    if (handle && (await handle.describe()).status.name === 'RUNNING') await handle.terminate('test failed midway');
    await down.close();
  }
});

it('when the message platform refuses the notification itself, then the dossier is sealed all the same and says why, scrubbed', async () => {
  const platform = createServer((req, res) => {
    req.resume();
    res.writeHead(422, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'UNREACHABLE_NUMBER', message: '无法向 13807910001 发送短信' } }));
  });
  await new Promise<void>((resolve) => platform.listen(0, '127.0.0.1', resolve));
  const refusing = await startStack(env, {
    env: { APPLICANT_NOTIFY_URL: `http://127.0.0.1:${(platform.address() as AddressInfo).port}/notifications` },
  });
  try {
    const handle = await startApplication(env.client, { taskQueue: refusing.taskQueue });
    const status = (await handle.result()) as ApplicationStatus;
    expect(status.status).toBe('completed');
    expect(status.results.dossier).toMatchObject({ dossierId: `DOS-${handle.workflowId}` });
    expect(status.results.dossier!.applicantNotified).toBeUndefined();
    const refused = (archive(status).output as { notificationRefused?: string }).notificationRefused;
    expect(refused).toContain('refused the notification with 422');
    expect(refused).toContain('138****0001');
    expect(refused).not.toContain('13807910001');
    expect(schemaProblems('ApplicationStatus', status)).toEqual([]);
  } finally {
    await refusing.close();
    await new Promise((resolve) => platform.close(resolve));
  }
});
