/**
 * `npm start` (scripts/start.ts) stopped and started again on its data folder, as a user does with Ctrl-C: the
 * applications live on in Temporal's SQLite file, and the embedded agency simulator must still know the records they
 * filed — an undo after the restart needs the ticket it undoes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApplicationStatus } from '../domain/status';
import { isAlive, PID_FILE } from '../infra/dev-server';
import { authHeaders, securityTestEnv } from './helpers/auth';
import { freshApplication } from './helpers/fixtures';
import { freePort, startTsProcess, waitForHttp, type NodeProcess } from './helpers/processes';

jest.setTimeout(240_000);

let dir: string;
let env: Record<string, string | undefined>;
let apiUrl: string;
let simulatorUrl: string;
let running: NodeProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-start-'));
  const [api, temporal, ui, simulator] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  apiUrl = `http://127.0.0.1:${api}`;
  simulatorUrl = `http://127.0.0.1:${simulator}`;
  env = {
    ...securityTestEnv(),
    KAIBAN_DATA_DIR: dir,
    PORT: String(api),
    TEMPORAL_ADDRESS: undefined, // the embedded dev server
    TEMPORAL_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    SIMULATOR_PORT: String(simulator),
    AGENCY_BASE_URL: simulatorUrl,
    KAIBAN_PUBLIC_URL: apiUrl,
    LOG_LEVEL: 'warn',
  };
});

afterAll(async () => {
  await running?.stop();
  // A test that failed between a SIGKILL and the next start leaves the server running: not beyond this file.
  const pidFile = path.join(dir, PID_FILE);
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<void> {
  running = startTsProcess('scripts/start.ts', env, 'npm-start');
  await waitForHttp(`${apiUrl}/readyz`, running, 120_000);
}

async function stop(): Promise<void> {
  await running?.stop('SIGTERM');
  running = undefined;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked by the expectations
async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url, {
    method,
    headers: { ...(await authHeaders('applicant')), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function statusWhen(id: string, holds: (s: ApplicationStatus) => boolean): Promise<ApplicationStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body } = await call('GET', `${apiUrl}/v1/applications/${id}`);
    const status = body as ApplicationStatus;
    if (holds(status)) return status;
    if (Date.now() > deadline) throw new Error(`application ${id}: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('npm start, stopped and started again on its data folder', () => {
  it('when an application waiting for review is withdrawn after the restart, then its name reservation is released at the agency and nothing is left live', async () => {
    await start();
    // `投资` sends the license to manual review: the name is reserved, the application waits.
    const submitted = await call(
      'POST',
      `${apiUrl}/v1/applications`,
      freshApplication((app) => void (app.company.name = app.company.name.replace('科技', '投资'))),
    );
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    await statusWhen(id, (s) => s.pendingTasks.includes('review'));
    const before = (await call('GET', `${simulatorUrl}/records?applicationId=${id}`)).body.records;
    expect(before).toEqual([expect.objectContaining({ procedure: 'name_reservation', status: 'approved' })]);

    await stop();
    await start();

    expect((await call('GET', `${simulatorUrl}/records?applicationId=${id}`)).body.records).toEqual(before);
    const withdrawn = await call('POST', `${apiUrl}/v1/applications/${id}/withdraw`, { reason: '不再开办' });
    expect(withdrawn.status).toBe(200);
    const final = await statusWhen(id, (s) => s.status !== 'running' && s.status !== 'compensating');
    expect(final.status).toBe('withdrawn');
    expect(final.compensations).toEqual([
      expect.objectContaining({ step: 'name', action: 'undo', state: 'done', result: 'revoked' }),
    ]);
    const after = (await call('GET', `${simulatorUrl}/records?applicationId=${id}`)).body.records;
    expect(after).toEqual([
      expect.objectContaining({
        ticket: before[0].ticket,
        status: 'revoked',
        compensation: 'name_released',
        live: false,
      }),
    ]);
  });

  it('when npm start is killed without a clean shutdown, then the next start stops the Temporal server it left and goes on with the same applications', async () => {
    if (!running) await start();
    const submitted = await call('POST', `${apiUrl}/v1/applications`, freshApplication());
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    await statusWhen(id, (s) => s.status === 'completed');
    const pidOf = () => Number.parseInt(readFileSync(path.join(dir, PID_FILE), 'utf8'), 10);
    const leftover = pidOf();

    await running!.stop('SIGKILL');
    running = undefined;
    // Nothing stopped it: the server holds the port and the database without the process that started it.
    expect(isAlive(leftover)).toBe(true);

    await start();
    expect(isAlive(leftover)).toBe(false);
    expect(pidOf()).not.toBe(leftover);
    expect((await statusWhen(id, (s) => s.status === 'completed')).results.uscc).toEqual(expect.any(String));
  });

  it("when a setting is wrong or the API's port is taken, then npm start says which in one line and leaves nothing running", async () => {
    if (!running) await start();
    const elsewhere = async () => {
      const [temporal, ui, simulator] = await Promise.all([freePort(), freePort(), freePort()]);
      const own = mkdtempSync(path.join(os.tmpdir(), 'kaiban-start-refused-'));
      return {
        ...env,
        KAIBAN_DATA_DIR: own,
        TEMPORAL_PORT: String(temporal),
        TEMPORAL_UI_PORT: String(ui),
        SIMULATOR_PORT: String(simulator),
      };
    };
    // A bad office-hours setting: refused before the Temporal server starts (no pid file in its data folder).
    const badEnv = await elsewhere();
    const bad = startTsProcess('scripts/start.ts', { ...badEnv, SLA_OFFICE_HOURS: '9-17' }, 'npm-start-bad');
    expect(await bad.exited).toMatchObject({ code: 1 });
    expect(bad.output()).toContain("SLA_OFFICE_HOURS: period 1 '9-17' is not HH:MM-HH:MM");
    expect(bad.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(path.join(badEnv.KAIBAN_DATA_DIR!, PID_FILE))).toBe(false);
    // The API's port taken (by the first start): told by its setting, and the Temporal server it had started stopped.
    const busyEnv = await elsewhere();
    const busy = startTsProcess('scripts/start.ts', busyEnv, 'npm-start-busy');
    expect(await busy.exited).toMatchObject({ code: 1 });
    expect(busy.output()).toContain(`port ${env.PORT} is in use by another process: set PORT to a free port`);
    expect(busy.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(path.join(busyEnv.KAIBAN_DATA_DIR!, PID_FILE))).toBe(false);
    for (const own of [badEnv, busyEnv]) rmSync(own.KAIBAN_DATA_DIR!, { recursive: true, force: true });
    expect((await fetch(`${apiUrl}/readyz`)).status).toBe(200);
  });

  it('when a second npm start is run on the same data folder, then it refuses, naming the first, and the first goes on', async () => {
    if (!running) await start();
    const [api, temporal, ui, simulator] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const second = startTsProcess(
      'scripts/start.ts',
      {
        ...env,
        PORT: String(api),
        TEMPORAL_PORT: String(temporal),
        TEMPORAL_UI_PORT: String(ui),
        SIMULATOR_PORT: String(simulator),
      },
      'npm-start-2',
    );
    const exit = await second.exited;
    expect(exit).toMatchObject({ code: 1 });
    expect(second.output()).toContain(`another Kaiban (pid ${running!.pid}) runs on the data folder`);
    expect((await fetch(`${apiUrl}/readyz`)).status).toBe(200);
  });
});
