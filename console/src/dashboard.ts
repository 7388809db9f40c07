/** The supervisor's dashboard: GET /v1/stats as figures and inline SVG charts, refreshed every 15 s. */
import { NANCHANG_DISTRICTS } from '../../domain/districts';
import { STEP_IDS } from '../../domain/steps';
import { APPLICATION_STATES } from '../../domain/status';
import { call } from './api';
import { barChart, lineChart, type Datum } from './charts';
import { h, replaceKeepingFocus } from './dom';
import { districtName, formatDuration, formatPercent, formatTime, t, tk } from './i18n';
import { stepTitle } from './list';
import type { Page } from './page';
import { errorBox, Poller } from './ui';
import type { Stats } from './types';

const REFRESH_MS = 15_000;

function figure(label: string, value: string, note?: string, testid?: string): HTMLElement {
  return h(
    'div',
    { class: 'kpi', 'data-testid': testid },
    h('div', { class: 'kpi-value' }, value),
    h('div', { class: 'kpi-label' }, label),
    note ? h('div', { class: 'kpi-note' }, note) : null,
  );
}

function render(stats: Stats): HTMLElement[] {
  const open = stats.openTotal ?? (stats.byStatus.running ?? 0) + (stats.byStatus.compensating ?? 0);
  const c = stats.completion;
  const note = c && c.sampleSize > 0 ? t('sampleNote', { n: c.sampleSize }) : t('noSample');
  const timedOpen = Object.values(stats.openBySlaLevel).reduce((a, b) => a + b, 0);
  const levels: Datum[] = [
    ...(['on_track', 'warning', 'breached'] as const).map((l) => ({
      label: tk('sla', l),
      value: stats.openBySlaLevel[l] ?? 0,
      cls: `sla-${l}`,
    })),
    { label: t('level_unknown'), value: Math.max(0, open - timedOpen), cls: 'sla-none' },
  ];
  const statuses: Datum[] = APPLICATION_STATES.map((s) => ({
    label: tk('status', s),
    value: stats.byStatus[s] ?? 0,
    cls: `status-${s}`,
  }));
  const tasks: Datum[] = (['review', 'correction', 'incident'] as const).map((task) => ({
    label: task === 'incident' ? t('task_incident_any') : tk('task', task),
    value: stats.openByTask?.[task] ?? 0,
    cls: `task-${task}`,
  }));
  const days: Datum[] = (stats.completedByDay ?? []).map((d) => ({ label: d.date.slice(5), value: d.count }));
  const scopes: Datum[] = ['application', ...STEP_IDS].map((s) => ({
    label: s === 'application' ? t('wholeApplication') : stepTitle(s),
    value: stats.breachesByScope[s] ?? 0,
    cls: 'sla-breached',
  }));
  const districts: Datum[] = Object.keys(NANCHANG_DISTRICTS).map((d) => ({
    label: districtName(d),
    value: stats.breachesByDistrict[d] ?? 0,
    cls: 'sla-breached',
  }));

  return [
    ...(stats.calendarIssues ?? []).map((issue) =>
      h(
        'p',
        { class: `notice ${issue.level}`, role: 'alert', 'data-testid': 'calendar-issue', 'data-code': issue.code },
        t(issue.code === 'CALENDAR_YEAR_MISSING' ? 'calendarYearMissing' : 'calendarNextYearMissing', {
          year: issue.year,
        }),
      ),
    ),
    h(
      'div',
      { class: 'kpis' },
      figure(t('open'), String(open), undefined, 'kpi-open'),
      stats.endedInTemporal
        ? figure(t('endedInTemporal'), String(stats.endedInTemporal), undefined, 'kpi-ended')
        : null,
      figure(t('completedToday'), String(stats.completedToday ?? '—'), undefined, 'kpi-today'),
      figure(t('completedWeek'), String(stats.completedThisWeek ?? '—'), undefined, 'kpi-week'),
      figure(t('withinOneDay'), formatPercent(c?.withinOneWorkingDay), note, 'kpi-within'),
      figure(
        t('median'),
        c?.medianWorkingMs === null || c?.medianWorkingMs === undefined ? '—' : formatDuration(c.medianWorkingMs),
        t('workingTime'),
        'kpi-median',
      ),
      figure(
        t('p95'),
        c?.p95WorkingMs === null || c?.p95WorkingMs === undefined ? '—' : formatDuration(c.p95WorkingMs),
        t('workingTime'),
        'kpi-p95',
      ),
    ),
    h(
      'div',
      { class: 'charts' },
      barChart(t('openBySla'), levels),
      barChart(t('openByTask'), tasks),
      barChart(t('byStatus'), statuses),
      days.length ? lineChart(t('perDay'), days) : null,
      barChart(t('breachesByStep'), scopes),
      barChart(t('breachesByDistrict'), districts),
    ),
  ];
}

export function dashboardPage(): Page {
  const body = h('div', { class: 'dashboard-body' }, h('p', null, t('loading')));
  const updated = h('span', { class: 'updated' });
  const load = async () => {
    try {
      const answer = await call<Stats>('GET', '/v1/stats');
      if (answer.ok && answer.body) {
        replaceKeepingFocus(body, ...render(answer.body));
        updated.textContent = t('updatedAt', {
          time: formatTime(answer.body.generatedAt ?? Date.now(), { date: false }),
        });
      } else if (answer.status !== 401) {
        replaceKeepingFocus(body, errorBox(`${answer.error?.code}: ${answer.error?.message}`));
      }
    } catch (err) {
      replaceKeepingFocus(body, errorBox(t('unreachable', { message: (err as Error).message })));
    }
  };
  const poller = new Poller(load, REFRESH_MS);
  poller.start();
  return {
    el: h(
      'div',
      { class: 'dashboard-page', 'data-testid': 'dashboard' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, t('dashTitle')), updated),
      body,
    ),
    title: t('dashTitle'),
    stop: () => poller.stop(),
  };
}
