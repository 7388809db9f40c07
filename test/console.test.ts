/**
 * The operator console in a real browser: Debian's Chromium (`apt-get install chromium`, see .ci/run)
 * driven by playwright-core, against the whole stack on the Temporal dev server. Screenshots go to
 * test-artifacts/ (ignored by git).
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { build as esbuild } from 'esbuild';
import { chromium, type Browser, type Page, type Route } from 'playwright-core';
import { startApi, type RunningApi } from '../api/server';
import { loadConfig } from '../config';
import type { ApplicationStatus } from '../domain/status';
import { createLogger } from '../observability/logger';
import { buildConsole } from '../scripts/build-console';
import { SignJWT } from 'jose';
import { calendarReadiness } from '../domain/calendar';
import { createOfficialCalendar } from '../domain/calendar/official';
import { authHeaders, securityTestEnv, TEST_AUTH_SECRET, tokenFor } from './helpers/auth';
import { freshApplication } from './helpers/fixtures';
import { workingDaysCalendarFile } from './helpers/sla-realtime';
import { eventually } from './helpers/sla-world';
import { agencyRecords, patchSimulator, startStack, type Stack } from './helpers/stack';
import { startDevServer } from './helpers/temporal';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../test-artifacts');
// The shipped schedules end with the last published year: from late December a deadline would fall in a year they
// lack, and the SLA colours and completion figures checked here would be missing. The next days work in this file.
const CALENDAR_FILE = workingDaysCalendarFile(Date.now(), 3);

let env: TestWorkflowEnvironment;
let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  await buildConsole();
  env = await startDevServer();
  // Two filing attempts, so a failing agency turns into an incident within seconds.
  stack = await startStack(env, { settings: { agencyMaxAttempts: 2 }, env: { SLA_CALENDAR_FILE: CALENDAR_FILE } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers run CI as root, where Chromium's sandbox cannot start.
    chromiumSandbox: false,
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await env?.teardown();
});

/** A fresh tab in Shanghai time that records every console error and uncaught exception. */
async function openTab(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: 1360, height: 900 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  return { page, errors };
}

async function submit(edit?: Parameters<typeof freshApplication>[0]): Promise<{ id: string; name: string }> {
  const application = freshApplication(edit);
  const res = await fetch(`${stack.api.url}/v1/applications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
    body: JSON.stringify(application),
  });
  expect(res.status).toBe(202);
  return { id: ((await res.json()) as { id: string }).id, name: application.company.name };
}

/** An application's status, as an operator reads it through the API. */
async function statusOf(id: string): Promise<ApplicationStatus> {
  const res = await fetch(`${stack.api.url}/v1/applications/${id}`, { headers: await authHeaders('operator') });
  return (await res.json()) as ApplicationStatus;
}

/** An operator's action on an application through the API, for a test's cleanup (a 409 when it no longer applies). */
async function operatorAction(id: string, path: string, body: unknown = {}): Promise<void> {
  await fetch(`${stack.api.url}/v1/applications/${id}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await authHeaders('operator')) },
    body: JSON.stringify(body),
  });
}

/** The notifications the message platform (the simulator) received for an application. */
async function notificationsOf(id: string): Promise<unknown[]> {
  const sent = await fetch(`${stack.simulator.url}/notifications?applicationId=${id}`);
  return ((await sent.json()) as { notifications: unknown[] }).notifications;
}

/**
 * Signed in as an operator, with the police down from now on (the caller sets them back): an application whose seal
 * is an incident, its page open.
 */
async function sealIncidentOpened(page: Page): Promise<{ id: string; name: string }> {
  await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
  await page.getByRole('heading', { name: '申请列表' }).waitFor();
  await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 1 } } });
  const stuck = await submit();
  await row(page, stuck.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
  await row(page, stuck.id).locator('th a').click();
  return stuck;
}

async function signInWithToken(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByRole('heading', { name: '登录' }).waitFor();
  await page.getByLabel('身份令牌').fill(token);
  await page.getByTestId('sign-in').click();
}

const row = (page: Page, id: string) => page.locator(`tr[data-id="${id}"]`);

describe('the operator console', () => {
  it('when a page part is rebuilt by a refresh, then what the user typed, chose and opened there, and the focus, come back (console/src/dom.ts)', async () => {
    // The console's own DOM helpers, bundled for the browser alone: the refresh of a real page is not timed at will.
    const bundle = await esbuild({
      stdin: {
        contents:
          "import { h, replaceKeepingFocus } from './dom'; Object.assign(window, { dom: { h, replaceKeepingFocus } });",
        resolveDir: path.resolve(__dirname, '../console/src'),
        loader: 'ts',
      },
      bundle: true,
      write: false,
      format: 'iife',
    });
    const { page, errors } = await openTab();
    await page.setContent('<main id="part"></main>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
    // In the page (plain JavaScript: the test's own types know no DOM).
    const kept = await page.evaluate<Record<string, unknown>>(`(() => {
      const { h, replaceKeepingFocus } = window.dom;
      const part = document.getElementById('part');
      let changes = 0;
      const form = () =>
        h(
          'form',
          { onchange: () => void changes++ },
          h('textarea', { id: 'reason' }),
          h('input', { type: 'radio', name: 'decision', value: 'approve' }),
          h('input', { type: 'radio', name: 'decision', value: 'reject' }),
          h('details', null, h('summary', null, 'data table'), 'rows'),
          h('details', null, h('summary', null, 'data table'), 'rows'),
        );
      replaceKeepingFocus(part, form());
      part.querySelector('#reason').value = '已电话联系';
      part.querySelector('input[value="reject"]').checked = true;
      part.querySelectorAll('details')[1].open = true;
      part.querySelector('#reason').focus();
      replaceKeepingFocus(part, form()); // the 3 s refresh
      return {
        reason: part.querySelector('#reason').value,
        decision: part.querySelector('input[name="decision"]:checked')?.value,
        open: [...part.querySelectorAll('details')].map((d) => d.open),
        focused: document.activeElement?.id,
        changes,
      };
    })()`);
    expect(kept).toEqual({
      reason: '已电话联系',
      decision: 'reject',
      open: [false, true],
      focused: 'reason',
      changes: 1,
    });
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('serves the built page and its hashed assets with their content types and cache headers', async () => {
    const index = await fetch(`${stack.api.url}/console`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /src="(\/console\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/console\/style-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    expect(script && style).toBeTruthy();
    const js = await fetch(`${stack.api.url}${script}`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const css = await fetch(`${stack.api.url}${style}`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await fetch(`${stack.api.url}/console/nothing-here.js`)).status).toBe(404);
    // With a configured AUTH_SECRET (as here) there is no dev sign-in: tokens come from the issuer.
    expect(await (await fetch(`${stack.api.url}/console/config.json`)).json()).toMatchObject({ devSignIn: false });
    const devToken = await fetch(`${stack.api.url}/console/dev-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"role":"operator"}',
    });
    expect(devToken.status).toBe(404);
  });

  it('when an operator signs in, then both applications appear with their SLA colour; approving the review one completes it; list, application and dashboard have no console errors', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    await expect(page.getByTestId('who').getAttribute('data-role')).resolves.toBe('operator');

    const standard = await submit();
    const review = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));

    // The list refreshes itself: no reload, the rows arrive and change state on their own.
    await row(page, standard.id).and(page.locator('[data-status="completed"]')).waitFor({ timeout: 30_000 });
    await row(page, review.id).locator('.badge.task-review').waitFor({ timeout: 30_000 });
    await expect(row(page, review.id).getAttribute('data-status')).resolves.toBe('running');
    await expect(row(page, review.id).locator('th a').textContent()).resolves.toBe(review.name);
    for (const id of [standard.id, review.id]) {
      // Both are on track (green): a background of the green family, and the words say so too.
      const pill = row(page, id).locator('.pill.sla');
      await expect(pill.getAttribute('data-sla')).resolves.toBe('on_track');
      await expect(pill.textContent()).resolves.toContain('正常');
      // (The test's TypeScript has no DOM library; the function runs in the page.)
      const background = await pill.evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(el)
            .backgroundColor,
      );
      expect(background).toBe('rgb(218, 251, 225)');
    }
    // Urgency order: the open application (waiting for a review) before the completed one.
    const order = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    expect(order.indexOf(review.id)).toBeLessThan(order.indexOf(standard.id));
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-list.png'), fullPage: true });

    await row(page, review.id).locator('th a').click();
    await page.getByRole('heading', { name: review.name }).waitFor();
    const form = page.getByTestId('review-form');
    await form.waitFor();
    // The reviewer reads the materials the findings are about: the name, the scope; personal numbers masked.
    await page.getByText('申请材料（个人证件号、手机号已遮盖）').click();
    const materials = page.getByTestId('materials');
    await materials.getByText(review.name).waitFor();
    await expect(materials.textContent()).resolves.toContain('信息技术咨询服务');
    await expect(materials.textContent()).resolves.toContain('3601**********1236');
    await expect(materials.textContent()).resolves.not.toContain('360102199003071236');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-application-review.png'), fullPage: true });
    await form.getByLabel('通过').check();
    await form.getByLabel('理由').fill('投资咨询，不涉及金融业务');
    // The first try gets no answer (the network drops it): the console says so and sends the same Idempotency-Key
    // again, so a decision that did reach the API is not taken twice (the button hung, and a retry got a new key).
    const keys: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/review')) keys.push(r.headers()['idempotency-key'] ?? '');
    });
    await page.route('**/review', (route) => route.abort('connectionreset'), { times: 1 });
    await form.getByTestId('review-submit').click();
    const answer = page.getByTestId('action-answer');
    await page.locator('[data-testid="action-answer"][data-accepted="unknown"]').waitFor();
    await expect(answer.textContent()).resolves.toContain('无法连接');
    await expect(form.getByTestId('review-submit').isEnabled()).resolves.toBe(true);
    await form.getByTestId('review-submit').click();
    await page.locator('[data-testid="action-answer"][data-accepted="true"]').waitFor();
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    await expect(answer.getAttribute('data-accepted')).resolves.toBe('true');
    await expect(answer.textContent()).resolves.toContain('已受理');
    await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="audit"]').getByText('审核通过').waitFor();
    await expect(page.locator('[data-testid="steps"] tbody tr[data-state="done"]').count()).resolves.toBe(8);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-application.png'), fullPage: true });

    await page.getByRole('link', { name: '监察看板' }).click();
    await page.getByTestId('kpi-week').waitFor();
    await expect(page.getByTestId('kpi-week').locator('.kpi-value').textContent()).resolves.toBe('2');
    await expect(page.locator('figure.chart-card svg').count()).resolves.toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-dashboard.png'), fullPage: true });
    // The figures behind it, as the supervisor's API call returns them (exact: read from the final statuses).
    const stats = (await (
      await fetch(`${stack.api.url}/v1/stats`, { headers: await authHeaders('supervisor') })
    ).json()) as { completedByDay: unknown[] };
    expect(stats).toMatchObject({
      completedToday: 2,
      completedThisWeek: 2,
      completion: { sampleSize: 2, exact: 2, withinOneWorkingDay: 1 },
    });
    expect(stats.completedByDay).toHaveLength(7);
    // The calendar's own notices, as the domain finds them today (none, or next year's schedule due).
    expect((stats as { calendarIssues?: unknown }).calendarIssues).toEqual(
      calendarReadiness(createOfficialCalendar(), new Date()).issues,
    );

    // English is one click away, and the place in the console is kept.
    await page.getByTestId('lang').click();
    await page.getByRole('heading', { name: 'Supervision dashboard' }).waitFor();
    await expect(page.locator('html').getAttribute('lang')).resolves.toBe('en');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-dashboard-en.png'), fullPage: true });

    expect(errors).toEqual(['Failed to load resource: net::ERR_CONNECTION_RESET']); // the review's dropped try
    await page.context().close();
  });

  it("when next year's official schedule is not deployed, then the dashboard says so to the supervisor", async () => {
    const { page, errors } = await openTab();
    // The stats as they come in December before the State Council's notice is deployed.
    await page.route('**/v1/stats', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as Record<string, unknown>;
      const issue = { level: 'warning', code: 'CALENDAR_NEXT_YEAR_MISSING', year: 2099, message: 'missing' };
      await route.fulfill({ response, json: { ...body, calendarIssues: [issue] } });
    });
    await signInWithToken(page, stack.api.url, await tokenFor('supervisor', 'sup-console'));
    await page.getByRole('link', { name: '监察看板' }).click();
    const notice = page.getByTestId('calendar-issue');
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toContain('2099 年国务院办公厅节假日安排尚未部署');
    await expect(notice.getAttribute('role')).resolves.toBe('alert');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when someone signs in with an applicant-only token, then the console refuses them and keeps no token', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('applicant', 'applicant-console'));
    const refusal = page.locator('.signin-message .error');
    await refusal.waitFor();
    await expect(refusal.textContent()).resolves.toContain('拒绝访问');
    await expect(page.evaluate<string | null>("sessionStorage.getItem('kaiban.token')")).resolves.toBeNull();
    await expect(page.getByRole('heading', { name: '申请列表' }).count()).resolves.toBe(0);
    // The only error is the browser's own note of the API's 403.
    expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
    await page.context().close();
  });

  it('when a token holds two roles, then the console acts on the one the API acts on', async () => {
    // The API takes the first of its roles in its own order (applicant, operator, supervisor); the console took the
    // claim's first, and showed an operator listed second as a read-only supervisor.
    const { env } = loadConfig({ ...process.env, ...securityTestEnv() });
    const token = await new SignJWT({ [env.AUTH_ROLE_CLAIM]: ['supervisor', 'operator'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('op-two-roles')
      .setIssuer(env.AUTH_ISSUER)
      .setAudience(env.AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_AUTH_SECRET));
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, token);
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    await expect(page.getByTestId('who').getAttribute('data-role')).resolves.toBe('operator');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when an agency stays down, then the step shows as an incident; a confirmed retry from the console finishes the application', async () => {
    const { page, errors } = await openTab();
    try {
      await sealIncidentOpened(page);
      await page.getByTestId('retry-seal').waitFor();
      await expect(page.locator('[data-testid="steps"] tr[data-step="seal"]').getAttribute('data-state')).resolves.toBe(
        'incident',
      );
      await page.screenshot({ path: path.join(ARTIFACTS, 'console-incident.png'), fullPage: true });
      // Procedures are still to be done: the application may be aborted.
      await expect(page.getByTestId('abort').count()).resolves.toBe(1);
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });

      // The supervisor's view while it waits: one open application, waiting on an incident.
      await page.getByRole('link', { name: '监察看板' }).click();
      await page.getByTestId('kpi-open').waitFor();
      await expect(page.getByTestId('kpi-open').locator('.kpi-value').textContent()).resolves.toBe('1');
      await page.screenshot({ path: path.join(ARTIFACTS, 'console-dashboard-open.png'), fullPage: true });
      await page.goBack();

      await page.getByTestId('retry-seal').click();
      const dialog = page.getByRole('dialog');
      await expect(dialog.textContent()).resolves.toContain('印章刻制备案');
      await dialog.getByTestId('confirm').click();
      await expect(page.getByTestId('action-answer').getAttribute('data-accepted')).resolves.toBe('true');
      await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
      await page.locator('[data-testid="audit"]').getByText('重试步骤').waitFor();
    } finally {
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when the message platform is down at the archive step, then the page offers a retry or sealing for an applicant told otherwise, no abort of the started business; the confirmed skip seals the dossier and sends nothing', async () => {
    const { page, errors } = await openTab();
    let started: { id: string } | undefined;
    try {
      await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
      await page.getByRole('heading', { name: '申请列表' }).waitFor();
      await patchSimulator(stack.simulator, { messagePlatform: { available: false } });
      started = await submit();
      await row(page, started.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await row(page, started.id).locator('th a').click();
      await page.getByTestId('retry-archive').waitFor();
      // Every procedure is done: nothing is left to abort (BUSINESS_STARTED).
      await expect(page.getByTestId('abort').count()).resolves.toBe(0);
      // The platform is back, but the applicant was told by phone: the skip seals the dossier without the notification.
      await patchSimulator(stack.simulator, { messagePlatform: { available: true } });
      await expect(page.locator('#skip-reason-archive-help').textContent()).resolves.toContain('如何已告知申请人');
      await page.locator('#skip-reason-archive').fill('已电话告知申请人');
      await page.getByTestId('skip-archive').click();
      const dialog = page.getByRole('dialog');
      await expect(dialog.textContent()).resolves.toContain('已另行告知申请人？');
      await dialog.getByTestId('confirm').click();
      await expect(page.getByTestId('action-answer').getAttribute('data-accepted')).resolves.toBe('true');
      await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
      const status = await statusOf(started.id);
      expect(status.results.dossier).toMatchObject({ applicantToldOffline: { reason: '已电话告知申请人' } });
      expect(await notificationsOf(started.id)).toEqual([]);
    } finally {
      await patchSimulator(stack.simulator, { messagePlatform: { available: true } });
      // Failed midway, the application would stay in its incident and count as open in the tests after this one:
      // retried through the API (a 409 when it is over already).
      if (started) await operatorAction(started.id, '/steps/archive/retry');
    }
    // The platform's refusals while it was down, as the worker met them, are not the console's.
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when the message platform was down for a while, then an operator retries the archive of every application left in that incident from the list at once; each completes with one notification', async () => {
    const { page, errors } = await openTab();
    const started: { id: string }[] = [];
    try {
      await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
      await page.getByRole('heading', { name: '申请列表' }).waitFor();
      // Without a filter on one step's incidents there is nothing to retry at once.
      await expect(page.getByTestId('retry-all').count()).resolves.toBe(0);
      await patchSimulator(stack.simulator, { messagePlatform: { available: false } });
      started.push(await submit(), await submit());
      for (const s of started) await row(page, s.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await page.locator('#f-task').selectOption('incident:archive');
      for (const s of started) await row(page, s.id).waitFor();
      // A supervisor looks at the same list and is offered nothing to do.
      const supervisor = await openTab();
      await signInWithToken(supervisor.page, stack.api.url, await tokenFor('supervisor', 'sup-console'));
      await supervisor.page.getByTestId('kpi-open').waitFor();
      await supervisor.page.evaluate("location.hash = '#/applications?task=incident:archive'");
      for (const s of started) await row(supervisor.page, s.id).waitFor();
      await expect(supervisor.page.getByTestId('retry-all').count()).resolves.toBe(0);
      expect(supervisor.errors).toEqual([]);
      await supervisor.page.context().close();
      await patchSimulator(stack.simulator, { messagePlatform: { available: true } });

      await page.getByTestId('retry-all').click();
      const dialog = page.getByRole('dialog');
      await expect(dialog.textContent()).resolves.toContain(
        '重新向部门提交“电子归档”？待重试 2 件；留待逐件处理 0 件；未能读取 0 件。',
      );
      await dialog.getByTestId('confirm').click();
      const result = page.getByTestId('retry-all-result');
      await page.locator('[data-testid="retry-all-result"][data-accepted]').waitFor();
      await expect(result.getAttribute('data-accepted')).resolves.toBe('2');
      await expect(result.textContent()).resolves.toBe(
        '已重试 2 件；未受理 0 件；无答复 0 件（可再次全部重试）；留待逐件处理 0 件；未能读取 0 件。',
      );
      for (const s of started) {
        const status = async () => (await statusOf(s.id)).status;
        await expect(eventually(status, (now) => now === 'completed', 30_000)).resolves.toBe('completed');
        expect(await notificationsOf(s.id)).toHaveLength(1);
      }
      // They left the filter: another round finds nothing to retry.
      for (const s of started) await row(page, s.id).waitFor({ state: 'detached', timeout: 15_000 });
      await page.getByTestId('retry-all').click();
      await page.locator('[data-testid="retry-all-result"]', { hasText: '此筛选下没有' }).waitFor();
      await expect(result.textContent()).resolves.toBe(
        '此筛选下没有可全部重试的“电子归档”异常（留待逐件处理 0 件；未能读取 0 件）。',
      );
    } finally {
      await patchSimulator(stack.simulator, { messagePlatform: { available: true } });
      // Failed midway, an application would stay in its incident and count as open in the tests after this one.
      for (const s of started) await operatorAction(s.id, '/steps/archive/retry');
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when one seal waits in an incident because the police were down and another because they refused it, then retry all retries the first only and leaves the refusal to be handled on its own', async () => {
    const { page, errors } = await openTab();
    let down: { id: string } | undefined;
    let refused: { id: string } | undefined;
    try {
      await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
      await page.getByRole('heading', { name: '申请列表' }).waitFor();
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 1 } } });
      down = await submit();
      await row(page, down.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0, rejectAll: true } } });
      refused = await submit();
      await row(page, refused.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await patchSimulator(stack.simulator, { agencies: { police: { rejectAll: false } } });
      await page.locator('#f-task').selectOption('incident:seal');
      await row(page, down.id).waitFor();
      await row(page, refused.id).waitFor();

      await page.getByTestId('retry-all').click();
      const dialog = page.getByRole('dialog');
      await expect(dialog.textContent()).resolves.toContain(
        '重新向部门提交“印章刻制备案”？待重试 1 件；留待逐件处理 1 件；未能读取 0 件。',
      );
      await dialog.getByTestId('confirm').click();
      await page.locator('[data-testid="retry-all-result"][data-accepted]').waitFor();
      await expect(page.getByTestId('retry-all-result').textContent()).resolves.toBe(
        '已重试 1 件；未受理 0 件；无答复 0 件（可再次全部重试）；留待逐件处理 1 件；未能读取 0 件。',
      );
      const done = await eventually(
        () => statusOf(down!.id),
        (s) => s.status === 'completed',
        30_000,
      );
      expect(done.status).toBe('completed');
      // One seal record at the police for it, however many attempts failed before.
      expect((await agencyRecords(stack.simulator, down.id)).filter((r) => r.procedure === 'seal_filing')).toHaveLength(
        1,
      );
      // The refusal waits for an operator who has read the police's reason.
      const left = await statusOf(refused.id);
      expect(left.steps.find((s) => s.id === 'seal')).toMatchObject({
        state: 'incident',
        error: { code: 'AGENCY_REJECTED' },
      });
    } finally {
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0, rejectAll: false } } });
      for (const app of [down, refused]) if (app) await operatorAction(app.id, '/abort', { reason: 'test done' });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("when an agency refuses the seal, then the console shows the refusal with the agency's reason, and a retry files it again", async () => {
    const { page, errors } = await openTab();
    try {
      await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
      await page.getByRole('heading', { name: '申请列表' }).waitFor();
      await patchSimulator(stack.simulator, { agencies: { police: { rejectAll: true } } });
      const refused = await submit();
      await row(page, refused.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await row(page, refused.id).locator('th a').click();
      await expect(page.locator('#incident-seal-h').textContent()).resolves.toContain('部门不予办理');
      await expect(page.locator('.action-form.incident .error-text').textContent()).resolves.toContain(
        'AGENCY_REJECTED',
      );
      await patchSimulator(stack.simulator, { agencies: { police: { rejectAll: false } } });
      await page.getByTestId('retry-seal').click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
    } finally {
      await patchSimulator(stack.simulator, { agencies: { police: { rejectAll: false } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when an administrator terminates an application in Temporal, then the list marks it ended there, not open, the dashboard counts it apart, and its page offers no action', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    const parked = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    await row(page, parked.id).locator('.badge.task-review').waitFor({ timeout: 30_000 });
    await env.client.workflow.getHandle(parked.id).terminate('stuck; ended by an administrator');

    const pill = row(page, parked.id).locator('.pill.status[data-ended="terminated"]');
    await pill.waitFor({ timeout: 30_000 });
    await expect(pill.textContent()).resolves.toBe('已在 Temporal 中强制结束');
    await expect(row(page, parked.id).locator('.badge.task-review').count()).resolves.toBe(0); // nobody can act on it
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-list-ended.png'), fullPage: true });
    await page.getByRole('link', { name: '监察看板' }).click();
    await page.getByTestId('kpi-ended').waitFor();
    await expect(page.getByTestId('kpi-ended').locator('.kpi-value').textContent()).resolves.toBe('1');
    await expect(page.getByTestId('kpi-open').locator('.kpi-value').textContent()).resolves.toBe('0');

    // Its page: the last status still says "review", but nothing is offered that the API would refuse (409).
    await page.getByRole('link', { name: '申请列表' }).click();
    await row(page, parked.id).locator('th a').click();
    const head = page.locator('[data-testid="detail-status"]');
    await head.locator('.pill.status[data-ended="terminated"]').waitFor({ timeout: 30_000 });
    await page.getByTestId('ended-no-actions').waitFor();
    await expect(head.locator('.badge').count()).resolves.toBe(0);
    await expect(page.getByTestId('review-form').count()).resolves.toBe(0);
    await expect(page.getByTestId('abort').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when the cancellation of a step done offline is refused after the application completed, then its page offers retry or skip for that undo, and a confirmed retry closes it', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    // The fund centre opens the account but answers after the adapter has given up (10 s), then goes down.
    await patchSimulator(stack.simulator, { agencies: { fund: { processingMs: 0, answerDelayMs: 12_000 } } });
    try {
      const stuck = await submit();
      await eventually(
        async () => (await agencyRecords(stack.simulator, stuck.id)).filter((r) => r.agency === 'fund').length,
        (n) => n === 1,
        30_000,
      );
      await patchSimulator(stack.simulator, { agencies: { fund: { transientFailureRate: 1 } } });
      await row(page, stuck.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await row(page, stuck.id).locator('th a').click();
      await page.getByTestId('skip-fund').waitFor();
      // The centre is back but will not undo anything: the withdrawal of the account it opened for us is refused.
      await patchSimulator(stack.simulator, {
        agencies: { fund: { transientFailureRate: 0, answerDelayMs: 0, refuseUndo: true } },
      });
      await page.locator('#skip-reason-fund').fill('已在公积金中心窗口开户');
      await page.getByTestId('skip-fund').click();
      await page.getByRole('dialog').getByTestId('confirm').click();

      await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
      await page.getByTestId('retry-fund').waitFor({ timeout: 30_000 });
      await expect(page.locator('#incident-fund-h').textContent()).resolves.toContain('撤销异常');
      await expect(page.getByTestId('abort').count()).resolves.toBe(0);
      // Completed, yet waiting for a person: the list shows its task, and the dashboard counts it with the incidents
      // the list's incident filter finds (it did not count a completed application).
      await page.evaluate("location.hash = '#/applications'");
      const listed = row(page, stuck.id).and(page.locator('[data-status="completed"]'));
      await listed.locator('.badge.task-incident').waitFor({ timeout: 30_000 });
      const supervisor = await authHeaders('supervisor');
      const [incidents, waiting] = await eventually(
        async () =>
          Promise.all([
            fetch(`${stack.api.url}/v1/stats`, { headers: supervisor })
              .then((r) => r.json() as Promise<{ openByTask: Record<string, number> }>)
              .then((s) => s.openByTask.incident),
            fetch(`${stack.api.url}/v1/applications?task=incident:fund`, { headers: supervisor })
              .then((r) => r.json() as Promise<{ items: { id: string }[] }>)
              .then((l) => l.items.map((i) => i.id)),
          ]),
        ([n, ids]) => ids.includes(stuck.id) && n === ids.length,
        15_000,
      );
      expect(waiting).toContain(stuck.id);
      expect(incidents).toBe(waiting.length);
      await listed.locator('th a').click();
      await page.getByTestId('retry-fund').waitFor({ timeout: 30_000 });
      await patchSimulator(stack.simulator, { agencies: { fund: { refuseUndo: false } } });
      await page.getByTestId('retry-fund').click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await page.locator('#compensations').getByText('已完成').waitFor({ timeout: 30_000 });
      await expect(page.getByTestId('retry-fund').count()).resolves.toBe(0);
      const records = (await agencyRecords(stack.simulator, stuck.id)).filter((r) => r.agency === 'fund');
      expect(records.map((r) => r.live)).toEqual([false]);
    } finally {
      await patchSimulator(stack.simulator, {
        agencies: { fund: { transientFailureRate: 0, refuseUndo: false, answerDelayMs: 0, processingMs: 150 } },
      });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when the police stay down, then the seal is marked done offline from the console with its record ids, and the bank files with them', async () => {
    const { page, errors } = await openTab();
    try {
      const stuck = await sealIncidentOpened(page);
      await page.getByTestId('skip-seal').waitFor();
      await page.locator('#skip-reason-seal').fill('已在公安窗口备案印章');
      // The form asks for what the bank quotes (it sent nothing, and the bank's refusal undid the application).
      await page.getByLabel('线下备案的印章备案号（多个以逗号分隔）').fill('GA3601000000000001， GA3601000000000002');
      await page.getByTestId('skip-seal').click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
      const status = await statusOf(stuck.id);
      expect(status.steps.find((s) => s.id === 'seal')?.output).toMatchObject({
        seals: [{ recordId: 'GA3601000000000001' }, { recordId: 'GA3601000000000002' }],
      });
      expect(status.steps.find((s) => s.id === 'bank')?.state).toBe('done');
    } finally {
      await patchSimulator(stack.simulator, { agencies: { police: { transientFailureRate: 0 } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when the tax bureau has not decided, then the waiting step can be marked done offline from the console before it is an incident', async () => {
    const { page, errors } = await openTab();
    try {
      await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
      await page.getByRole('heading', { name: '申请列表' }).waitFor();
      await patchSimulator(stack.simulator, { agencies: { tax: { processingMs: 600_000 } } });
      const waiting = await submit();
      await row(page, waiting.id).locator('th a').click();
      // Folded while it waits (most waits end by themselves): opened, it offers what an incident does.
      const panel = page.getByTestId('waiting-tax');
      await panel.waitFor({ timeout: 30_000 });
      await expect(panel.locator('summary').textContent()).resolves.toContain('等待部门决定');
      await panel.locator('summary').click();
      await panel.getByTestId('retry-tax').waitFor();
      await page.locator('#skip-reason-tax').fill('已在税务窗口办理');
      await page.getByTestId('skip-tax').click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await page.locator('[data-testid="detail-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
      await expect(page.locator('[data-testid="steps"] tr[data-step="tax"]').getAttribute('data-state')).resolves.toBe(
        'skipped',
      );
      await expect(page.getByTestId('waiting-tax').count()).resolves.toBe(0);
    } finally {
      await patchSimulator(stack.simulator, { agencies: { tax: { processingMs: 150 } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when an applicant withdraws without a reason, then the console shows the default reason in its own language', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    const parked = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    await row(page, parked.id).locator('.badge.task-review').waitFor({ timeout: 30_000 });
    const res = await fetch(`${stack.api.url}/v1/applications/${parked.id}/withdraw`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await authHeaders('applicant')) },
      body: '{}',
    });
    expect(res.status).toBe(200);

    await row(page, parked.id).locator('th a').click();
    await page.locator('[data-testid="detail-status"][data-status="withdrawn"]').waitFor({ timeout: 30_000 });
    const outcome = page.locator('#outcome dd').first();
    await expect(outcome.textContent()).resolves.toBe('申请人撤回');
    await page.locator('#audit').getByText('申请人撤回').waitFor();
    await page.getByTestId('lang').click();
    await page.locator('#outcome-h').getByText('Outcome').waitFor();
    await expect(outcome.textContent()).resolves.toBe('withdrawn by the applicant');
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it("when an agency rejects the application, then the outcome gives the agency's reason in the console's language", async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    // The registration refused (a refused name goes to an operator's review first).
    await patchSimulator(stack.simulator, {
      agencies: { market: { rejectProcedures: ['establishment_registration'] } },
    });
    try {
      const refused = await submit();
      await row(page, refused.id).locator('th a').click();
      await page.locator('[data-testid="detail-status"][data-status="rejected"]').waitFor({ timeout: 30_000 });
      // Before, the workflow's English text showed in both languages.
      const outcome = page.locator('#outcome dd').first();
      await expect(outcome.textContent()).resolves.toBe('经办机构不予办理（AGENCY_REJECTED）');
      await page.getByTestId('lang').click();
      await page.locator('#outcome-h').getByText('Outcome').waitFor();
      await expect(outcome.textContent()).resolves.toBe('The agency rejected the request (AGENCY_REJECTED)');
    } finally {
      await patchSimulator(stack.simulator, { agencies: { market: { rejectProcedures: [] } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when the regulator refused the company name, then its review offers no approval, only a correction or a rejection', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    await patchSimulator(stack.simulator, { agencies: { market: { rejectProcedures: ['name_reservation'] } } });
    try {
      const refused = await submit();
      await row(page, refused.id).locator('.badge.task-review').waitFor({ timeout: 30_000 });
      await row(page, refused.id).locator('th a').click();
      await page.getByTestId('review-form').waitFor();
      // The workflow would refuse an approval (NAME_REFUSED): correct the name, or reject.
      await expect(page.getByTestId('decision-approve').isDisabled()).resolves.toBe(true);
      await expect(page.getByTestId('decision-request_correction').isDisabled()).resolves.toBe(false);
      await expect(page.getByTestId('decision-reject').isDisabled()).resolves.toBe(false);
    } finally {
      await patchSimulator(stack.simulator, { agencies: { market: { rejectProcedures: [] } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when an applicant answers a correction request, then the audit trail names the fields changed, and marks those not asked for', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    const parked = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
    await row(page, parked.id).locator('.badge.task-review').waitFor({ timeout: 30_000 });
    const call = async (path: string, role: 'operator' | 'applicant', body: unknown) => {
      const res = await fetch(`${stack.api.url}/v1/applications/${parked.id}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(await authHeaders(role)) },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
    };
    await call('/review', 'operator', {
      decision: 'request_correction',
      reason: '住所请核实',
      fields: ['company.address'],
    });
    await row(page, parked.id).locator('.badge.task-correction').waitFor({ timeout: 30_000 });
    await call('/corrections', 'applicant', {
      company: { address: '红谷滩区丰和中大道1099号 8栋1204室', employees: 6 },
    });

    await row(page, parked.id).locator('th a').click();
    await page.getByTestId('correction-changed').getByText('改动：company.address, company.employees').waitFor({
      timeout: 30_000,
    });
    await expect(page.getByTestId('correction-unrequested').textContent()).resolves.toBe(
      '未要求补正的改动：company.employees',
    );
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when an application with a step done offline is aborted, then its page asks for that step to be undone offline, with no retry', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    await patchSimulator(stack.simulator, {
      agencies: { hrss: { transientFailureRate: 1 }, bank: { processingMs: 600_000 } },
    });
    try {
      const stuck = await submit();
      await row(page, stuck.id).locator('.badge.task-incident').waitFor({ timeout: 45_000 });
      await row(page, stuck.id).locator('th a').click();
      await page.locator('#skip-reason-social').fill('已在社保窗口办理登记');
      await page.getByTestId('skip-social').click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await page.locator('[data-testid="steps"] tbody tr[data-state="skipped"]').waitFor({ timeout: 30_000 });
      await page.locator('details.abort summary').click();
      await page.locator('#abort-reason').fill('申请人放弃开办');
      await page.getByTestId('abort').click();
      await page.getByRole('dialog').getByTestId('confirm').click();

      await page.getByTestId('skip-social').waitFor({ timeout: 30_000 });
      await expect(page.locator('#incident-social-h').textContent()).resolves.toContain('线下撤销');
      await expect(page.getByTestId('retry-social').count()).resolves.toBe(0);
      await page.locator('#compensations').getByText('待线下撤销').waitFor();
      await page.locator('#skip-reason-social').fill('已在社保窗口注销登记');
      await page.getByTestId('skip-social').click();
      await page.getByRole('dialog').getByTestId('confirm').click();
      await page.locator('[data-testid="detail-status"][data-status="aborted"]').waitFor({ timeout: 30_000 });
      await page.locator('#compensations').getByText('已在社保窗口注销登记').waitFor();
    } finally {
      await patchSimulator(stack.simulator, {
        agencies: { hrss: { transientFailureRate: 0 }, bank: { processingMs: 150 } },
      });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('when an agency refuses to undo a step of an aborted application, then its page offers retry or skip for that undo only; a confirmed retry ends the application', async () => {
    const { page, errors } = await openTab();
    await signInWithToken(page, stack.api.url, await tokenFor('operator', 'op-console'));
    await page.getByRole('heading', { name: '申请列表' }).waitFor();
    await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: true } } });
    try {
      const parked = await submit((a) => void (a.company.name = a.company.name.replace('科技', '投资')));
      await row(page, parked.id).locator('.badge.task-review').waitFor({ timeout: 30_000 });
      await row(page, parked.id).locator('th a').click();
      await page.getByTestId('review-form').waitFor();
      await page.locator('details.abort summary').click();
      await page.locator('#abort-reason').fill('申请人电话确认放弃开办');
      await page.getByTestId('abort').click();
      await page.getByRole('dialog').getByTestId('confirm').click();

      // The name's undo is refused: the application waits, compensating, on that undo alone.
      await page.getByTestId('retry-name').waitFor({ timeout: 30_000 });
      await expect(page.locator('#incident-name-h').textContent()).resolves.toContain('撤销异常');
      await expect(page.locator('.action-form.incident .error-text').textContent()).resolves.toContain('UNDO_REFUSED');
      await expect(page.getByTestId('review-form').count()).resolves.toBe(0);
      await expect(page.getByTestId('abort').count()).resolves.toBe(0);
      await expect(page.getByTestId('skip-name').textContent()).resolves.toBe('标记为线下已撤销');
      await page.locator('#compensations').getByText('异常（部门拒绝撤销）').waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'console-undo-incident.png'), fullPage: true });

      await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: false } } });
      await page.getByTestId('retry-name').click();
      const dialog = page.getByRole('dialog');
      await expect(dialog.textContent()).resolves.toContain('再次请求部门撤销');
      await dialog.getByTestId('confirm').click();
      await page.locator('[data-testid="detail-status"][data-status="aborted"]').waitFor({ timeout: 30_000 });
      await page.locator('#compensations').getByText('已完成').waitFor();
      await page.locator('.pill.review-cancelled').getByText('申请已结束，未作决定').waitFor();
    } finally {
      await patchSimulator(stack.simulator, { agencies: { market: { refuseUndo: false } } });
    }
    expect(errors).toEqual([]);
    await page.context().close();
  });

  describe('in the embedded default (the generated development secret)', () => {
    let devApi: RunningApi;

    beforeAll(async () => {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-console-'));
      const config = loadConfig({
        ...process.env,
        ...securityTestEnv(),
        AUTH_SECRET: undefined,
        NODE_ENV: 'development',
        KAIBAN_DATA_DIR: dataDir,
        PORT: '0',
        TEMPORAL_TASK_QUEUE: stack.taskQueue,
        SLA_CALENDAR_FILE: CALENDAR_FILE,
      });
      devApi = await startApi({ config, client: env.client, logger: createLogger({ level: 'silent' }), port: 0 });
    });

    afterAll(async () => {
      await devApi?.close();
    });

    it('offers a one-click sign-in per role; the operator lands on the list and pages through it', async () => {
      const { page, errors } = await openTab();
      await page.goto(`${devApi.url}/console`);
      await page.getByTestId('dev-operator').click();
      await page.getByRole('heading', { name: '申请列表' }).waitFor();
      await page.locator('tbody tr').first().waitFor();
      await expect(page.getByTestId('who').textContent()).resolves.toContain('dev-operator');

      // Paging with the API's pageToken: three applications, two per page; the live refresh keeps the page.
      await page.goto(`${devApi.url}/console#/applications?pageSize=2`);
      await page.getByText('第 1 页').waitFor();
      await expect(page.locator('tbody tr').count()).resolves.toBe(2);
      const ids = () => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
      const first = await ids();
      // Next is clicked while a refresh of page 1 is on its way (answers slowed to 1.5 s): that late answer showed as
      // page 2 (the click's own load was dropped), and page 1's token became page 3's.
      const isList = (url: URL) => url.pathname === '/v1/applications';
      const slowly = async (route: Route) => {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await route.continue();
      };
      await page.route(isList, slowly);
      await page.waitForRequest((r) => isList(new URL(r.url())) && !new URL(r.url()).searchParams.has('pageToken'), {
        timeout: 15_000,
      });
      await page.getByTestId('next').click();
      // Clicked again before page 2 answered: there is no page 3 to open yet (it showed page 1 as page 3).
      await page.getByTestId('next').click();
      await page.getByText('第 2 页').waitFor();
      const second = await ids();
      expect(second.length).toBeGreaterThan(0);
      expect(second.some((id) => first.includes(id))).toBe(false);
      await page.unroute(isList, slowly);
      // The poller's next request (it carries the page's token), then its rendering (a new time stamp).
      const stamp = (await page.getByTestId('updated').textContent()) ?? '';
      await page.waitForResponse(
        (r) => {
          const url = new URL(r.url());
          return url.pathname === '/v1/applications' && url.searchParams.has('pageToken');
        },
        { timeout: 15_000 },
      );
      await page.getByTestId('updated').filter({ hasNotText: stamp }).waitFor();
      await expect(page.getByText('第 2 页').count()).resolves.toBe(1);
      expect((await ids()).sort()).toEqual([...second].sort());
      await page.getByTestId('prev').click();
      await page.getByText('第 1 页').waitFor();
      expect(errors).toEqual([]);
      await page.context().close();
    });
  });
});
