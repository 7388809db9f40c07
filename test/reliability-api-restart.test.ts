/**
 * Reliability: the API process is killed (SIGKILL) and restarted while applicants poll their
 * applications and others are still submitting. Nothing is lost, nothing is started twice, and a
 * resubmission with the same Idempotency-Key still maps to the same application.
 */
import { request } from 'node:http';
import type { ApplicationStatus } from '../domain/status';
import type { Application } from '../domain/application';
import { authHeaders } from './helpers/auth';
import { freshApplication } from './helpers/fixtures';
import type { NodeProcess } from './helpers/processes';
import {
  countWorkflows,
  sleep,
  startReliabilityStack,
  submit,
  until,
  type ReliabilityStack,
} from './helpers/reliability-stack';

let stack: ReliabilityStack;
let api: NodeProcess;

beforeAll(async () => {
  stack = await startReliabilityStack({
    simulator: {
      agencies: Object.fromEntries(
        ['market', 'police', 'tax', 'hrss', 'fund', 'bank'].map((a) => [a, { processingMs: 800 }]),
      ),
    },
  });
  await stack.startWorker();
  api = await stack.startApiProcess();
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

/** An applicant polling GET /v1/applications/:id until the application is finished, through any outage. */
async function pollUntilFinished(
  id: string,
  timeoutMs: number,
): Promise<{ status: ApplicationStatus; failedPolls: number }> {
  const deadline = Date.now() + timeoutMs;
  let failedPolls = 0;
  for (;;) {
    try {
      const res = await fetch(`${stack.apiUrl}/v1/applications/${id}`, {
        headers: await authHeaders('applicant'),
        signal: AbortSignal.timeout(5000),
      });
      if (res.ok) {
        const status = (await res.json()) as ApplicationStatus;
        if (status.status !== 'running' && status.status !== 'compensating') return { status, failedPolls };
      } else {
        failedPolls++;
      }
    } catch {
      failedPolls++;
    }
    if (Date.now() > deadline) throw new Error(`${id} not finished after ${timeoutMs} ms`);
    await sleep(250);
  }
}

describe('API restarted while applicants poll', () => {
  it('when the API is SIGKILLed and restarted, then every application completes once and resubmissions map to the same application', async () => {
    const before: Array<{ key: string; app: Application }> = Array.from({ length: 20 }, (_, i) => ({
      key: `api-restart-before-${i}`,
      app: freshApplication(),
    }));
    const during: Array<{ key: string; app: Application }> = Array.from({ length: 10 }, (_, i) => ({
      key: `api-restart-during-${i}`,
      app: freshApplication(),
    }));
    const ids = new Map<string, string>();
    for (const { key, app } of before) ids.set(key, (await submit(stack.apiUrl, app, key)).id);
    const polls = [...ids.values()].map((id) => pollUntilFinished(id, 90_000));

    // Killed while the applications are mid-chain: their agencies' callbacks fail until it is back.
    await until(
      () => countWorkflows(stack, `KaibanStatus = 'running'`),
      (n) => n >= before.length / 2,
      30_000,
      'applications running',
    );
    await api.stop('SIGKILL');
    // Applicants keep submitting through the outage: their clients retry with the same key until accepted.
    const submittedDuring = during.map(({ key, app }) =>
      submit(stack.apiUrl, app, key).then((r) => ids.set(key, r.id)),
    );
    await sleep(2000);
    api = await stack.startApiProcess();
    await Promise.all(submittedDuring);
    polls.push(...during.map(({ key }) => pollUntilFinished(ids.get(key)!, 90_000)));

    const finished = await Promise.all(polls);
    expect(finished.map((f) => f.status.status)).toEqual(finished.map(() => 'completed'));
    // Some polls did fail while the API was away: the outage was real.
    expect(finished.reduce((n, f) => n + f.failedPolls, 0)).toBeGreaterThan(0);

    // The same key again, after the restart: the same application, not a new one.
    for (const { key, app } of [...before, ...during]) {
      const again = await submit(stack.apiUrl, app, key);
      expect(again.id).toBe(ids.get(key));
      expect(again.replayed).toBe(true);
    }
    expect(await countWorkflows(stack)).toBe(before.length + during.length);
  }, 150_000);

  it('when the API is stopped (SIGTERM) while a submission is in flight, then that submission is still answered', async () => {
    const body = Buffer.from(JSON.stringify(freshApplication()));
    const headers = {
      'content-type': 'application/json',
      'content-length': String(body.length),
      ...(await authHeaders('applicant')),
    };
    const url = new URL(`${stack.apiUrl}/v1/applications`);
    const answered = new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }));
      });
      req.on('error', reject);
      // Half the body now, the rest once the API has been told to stop.
      req.write(body.subarray(0, body.length / 2));
      setTimeout(() => req.end(body.subarray(body.length / 2)), 1000);
    });
    await sleep(300);
    const stopped = api.stop('SIGTERM');
    const res = await answered; // it used to be cut (ECONNRESET): was it started? Only a key could tell.
    expect(res.status).toBe(202);
    // Not to be reused for another request while the API stops: that one would be cut at the end of the grace period.
    expect(res.connection).toBe('close');
    const id = (JSON.parse(res.body) as { id: string }).id;
    await stopped;
    api = await stack.startApiProcess();
    const { status } = await pollUntilFinished(id, 60_000);
    expect(status.status).toBe('completed');
  }, 90_000);

  it("serves its own metrics, not the workers' SLA series (they would read 0 here; each worker counts them)", async () => {
    const res = await fetch(`${stack.apiUrl}/metrics`, { headers: await authHeaders('supervisor') });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('kaiban_agency_callbacks_total');
    expect(text).toContain('kaiban_open_tasks');
    for (const series of ['kaiban_sla_alerts_total', 'kaiban_sla_completion_working_hours']) {
      expect({ series, served: text.includes(series) }).toEqual({ series, served: false });
    }
  });
});
