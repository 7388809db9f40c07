/**
 * The applications list: filters (kept in the address, so a reload or a link keeps them), SLA as
 * colour + shape + working time left, most urgent first, paged with the API's pageToken, refreshed
 * every few seconds in place: rows are updated by key, so focus, scroll and page survive a refresh.
 */
import { isStepId, STEP_IDS, STEPS, type StepId } from '../../domain/steps';
import { NANCHANG_DISTRICTS } from '../../domain/districts';
import { APPLICATION_STATES, OPEN_STATES, type ApplicationStatus } from '../../domain/status';
import { call, newActionId, type Answer } from './api';
import { h, replaceChildren } from './dom';
import { aside, bilingual, districtName, formatDuration, formatTime, t, tk } from './i18n';
import type { Page } from './page';
import { confirmAction, errorBox, levelRank, Poller, slaPill, statusPill, taskBadges } from './ui';
import type { ApplicationPage, ApplicationSummary } from './types';

const LEVELS = ['on_track', 'warning', 'breached'];
const TASKS = ['review', 'correction', ...STEP_IDS.map((s) => `incident:${s}`)];
const FILTERS = ['status', 'sla', 'district', 'task', 'q'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number] | 'sort' | 'pageSize', string>>;
const PAGE_SIZE = 25;
const REFRESH_MS = 4000;
const OPEN = new Set<string>(OPEN_STATES);
/** Open: running or undoing, and not closed in Temporal itself. */
const isOpen = (item: ApplicationSummary) => OPEN.has(item.status) && !item.endedInTemporal;
/** Tasks a person still has to do: an open application's, or a completed one's refused withdrawal (incident:<step>). */
const tasksOf = (item: ApplicationSummary) => (item.endedInTemporal ? [] : item.pendingTasks);
/** Open, or waiting for a person all the same: listed with the open ones. */
const needsAttention = (item: ApplicationSummary) => isOpen(item) || tasksOf(item).length > 0;

export function stepTitle(id: string): string {
  return bilingual(STEPS.find((s) => s.id === id)?.title) || id;
}

/** Where the operator was, kept while they look at an application and come back. */
let remembered: { key: string; tokens: (string | undefined)[]; index: number; scrollY: number } | undefined;

export function filtersFromHash(query: string): Filters {
  const params = new URLSearchParams(query);
  const filters: Filters = {};
  for (const name of [...FILTERS, 'sort', 'pageSize'] as const) {
    const value = params.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

function hashFor(filters: Filters): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  const query = params.toString();
  return `#/applications${query ? `?${query}` : ''}`;
}

/**
 * Most urgent first: open (or waiting for a person) before closed; then breached, warning, on track; then least
 * working time left. Within the page shown only (and labelled so): Temporal's SQL visibility sorts by start and close
 * time, not by Kaiban's attributes; the SLA filter (`sla=breached`) finds the urgent ones across pages.
 */
export function byUrgency(a: ApplicationSummary, b: ApplicationSummary): number {
  const openA = needsAttention(a) ? 0 : 1;
  const openB = needsAttention(b) ? 0 : 1;
  if (openA !== openB) return openA - openB;
  if (openA === 1) return (b.closedAt ?? '').localeCompare(a.closedAt ?? '');
  const humanA = a.pendingTasks.some((x) => x !== 'correction') ? 0 : 1;
  const humanB = b.pendingTasks.some((x) => x !== 'correction') ? 0 : 1;
  const level = levelRank(a.slaLevel) - levelRank(b.slaLevel);
  if (level !== 0) return level;
  const left = (a.workingMsLeft ?? Infinity) - (b.workingMsLeft ?? Infinity);
  if (left !== 0 && !Number.isNaN(left)) return left;
  if (humanA !== humanB) return humanA - humanB;
  return (a.submittedAt ?? '').localeCompare(b.submittedAt ?? '');
}

function slaCell(item: ApplicationSummary): HTMLElement {
  let detail: string | undefined;
  if (isOpen(item)) {
    if (item.pendingTasks.includes('correction')) detail = t('paused');
    else if (item.workingMsLeft !== undefined) {
      detail =
        item.workingMsLeft >= 0
          ? t('left', { time: formatDuration(item.workingMsLeft) })
          : t('overdue', { time: formatDuration(-item.workingMsLeft) });
    }
  }
  return slaPill(item.slaLevel, detail);
}

function row(item: ApplicationSummary): HTMLTableRowElement {
  const name = item.companyName || item.id;
  return h(
    'tr',
    {
      'data-id': item.id,
      'data-status': item.status,
      'data-sla': item.slaLevel ?? 'none',
      class: `row sla-row-${item.slaLevel ?? 'none'}`,
    },
    h('td', null, slaCell(item)),
    h('th', { scope: 'row' }, h('a', { href: `#/applications/${item.id}`, 'data-focus-key': `open-${item.id}` }, name)),
    h('td', null, h('code', { title: item.id }, `${item.id.slice(0, 11)}…`)),
    h('td', null, districtName(item.district)),
    h('td', null, statusPill(item.status, item.endedInTemporal)),
    h('td', null, taskBadges(tasksOf(item), stepTitle)),
    h('td', null, h('time', { datetime: item.submittedAt ?? '' }, formatTime(item.submittedAt))),
    h(
      'td',
      null,
      !isOpen(item) && item.closedAt
        ? h(
            'span',
            { class: 'muted' },
            t('closedAt'),
            ' ',
            h('time', { datetime: item.closedAt }, formatTime(item.closedAt)),
          )
        : item.dueAt
          ? h('time', { datetime: item.dueAt }, formatTime(item.dueAt))
          : '—',
    ),
  );
}

function select(name: string, label: string, options: [string, string][], value: string | undefined): HTMLElement {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: `f-${name}` }, label),
    h(
      'select',
      { id: `f-${name}`, name },
      h('option', { value: '' }, t('fAll')),
      options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
    ),
  );
}

/** Requests "retry all" sends at once (statuses read, retries sent): a few, so a long list floods neither API nor Temporal. */
const RETRY_ALL_AT_ONCE = 4;

/** Runs `each` over `items`, RETRY_ALL_AT_ONCE at a time, until done or `stop()` holds. */
async function inTurn<T>(items: T[], each: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stop()) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(RETRY_ALL_AT_ONCE, items.length) }, lane));
}

/** The API's list address for the filters, one page of `pageSize` from `pageToken`. */
function listPath(filters: Filters, pageSize: number, pageToken: string | undefined): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) params.set(name, filters[name]!);
  params.set('pageSize', String(pageSize));
  if (pageToken) params.set('pageToken', pageToken);
  return `/v1/applications?${params.toString()}`;
}

/** The ids of every application the filters list (all pages) with `task` pending. */
async function idsWithTask(filters: Filters, task: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const answer = await call<ApplicationPage>('GET', listPath(filters, 100, token));
    if (!answer.ok || !answer.body)
      throw new Error(`${answer.error?.code ?? answer.status}: ${answer.error?.message ?? ''}`);
    for (const item of answer.body.items) if (tasksOf(item).includes(task)) ids.push(item.id);
    token = answer.body.nextPageToken ?? undefined;
  } while (token);
  return ids;
}

/**
 * Whether "retry all" retries `step` of one application, from its status read just then: only where an outage left
 * it — the application running, the step in an incident whose attempts at its agency ran out (STEP_INCIDENT). Left to
 * be handled one by one: an agency's refusal (a retry files the same data again), a silent agency, an undo's incident
 * (the application ending), and a step no longer in an incident (the list lags, and a retry of a step waiting again
 * would ask its agency again).
 */
async function eligibility(id: string, step: StepId): Promise<'retry' | 'left' | 'unread' | 'signed-out'> {
  let answer: Answer<ApplicationStatus>;
  try {
    answer = await call<ApplicationStatus>('GET', `/v1/applications/${id}`);
  } catch {
    return 'unread';
  }
  if (answer.status === 401) return 'signed-out';
  if (!answer.ok || !answer.body) return 'unread';
  const state = answer.body.steps.find((s) => s.id === step);
  const outage = state?.state === 'incident' && state.error?.code === 'STEP_INCIDENT';
  return answer.body.status === 'running' && outage ? 'retry' : 'left';
}

/** A list page's view of the round of "retry all" under way. */
interface RetryAllView {
  step: string;
  /** `of`: the step of the round's own bar; a bar of another step only waits for it. */
  show(text: string, final: boolean, of: string): void;
  finished(accepted: number, of: string): void;
}

/** The round of "retry all" under way, one at a time: it outlives the page that started it, pages built meanwhile watch. */
let retryAllRound: { step: string; views: Set<RetryAllView> } | undefined;

/**
 * Under a filter on one step's incidents, an operator retries that step for every application listed that an outage
 * left in it (an agency or the message platform back after one), after reading each one's status and confirming how
 * many: the same retry as each application's page, under a key of this round, with each status read again just before.
 * The list then says how many were retried, refused (by code), left unanswered, left to be handled one by one and not
 * read.
 */
function retryAllBar(filters: Filters, refresh: () => Promise<void>): { el: HTMLElement; stop(): void } | null {
  const task = filters.task;
  const step = task?.startsWith('incident:') ? task.slice('incident:'.length) : undefined;
  if (!task || !step || !isStepId(step)) return null;
  const title = stepTitle(step);
  // The progress is not announced at every request; the outcome is (aria-live).
  const progress = h('span', { class: 'bulk-progress', 'data-testid': 'retry-all-progress' });
  const result = h('p', { class: 'bulk-result', 'data-testid': 'retry-all-result', 'aria-live': 'polite' });
  // aria-disabled, not disabled, while a round runs: a disabled button would drop the keyboard focus.
  const button = h(
    'button',
    { type: 'button', class: 'primary', 'data-testid': 'retry-all', 'aria-describedby': 'retry-all-help' },
    t('retryAll', { step: title }),
  ) as HTMLButtonElement;
  const busy = (on: boolean) => button.setAttribute('aria-disabled', String(on));
  const view: RetryAllView = {
    step,
    show(text, final, of) {
      const own = of === step;
      progress.textContent = final ? '' : own ? text : t('retryAllBusy');
      if (final) {
        if (own) result.textContent = text;
        busy(false);
      }
    },
    finished(accepted, of) {
      if (of === step) result.dataset.accepted = String(accepted);
      void refresh();
    },
  };
  if (retryAllRound) {
    retryAllRound.views.add(view);
    busy(true);
    progress.textContent = t('retryAllBusy');
  }

  const run = async () => {
    if (retryAllRound) return;
    const round = { step, views: new Set([view]) };
    retryAllRound = round;
    busy(true);
    delete result.dataset.accepted;
    result.textContent = '';
    const say = (text: string) => round.views.forEach((v) => v.show(text, false, step));
    const end = (text: string, accepted?: number) => {
      retryAllRound = undefined;
      round.views.forEach((v) => v.show(text, true, step));
      if (accepted !== undefined) round.views.forEach((v) => v.finished(accepted, step));
    };
    try {
      say(t('retryAllReading'));
      const ids = await idsWithTask(filters, task);
      const tally = { left: 0, unread: 0 };
      const retry: string[] = [];
      let signedOut = false;
      const check = async (id: string): Promise<boolean> => {
        const answer = await eligibility(id, step as StepId);
        if (answer === 'signed-out')
          signedOut = true; // the session is over; the sign-in page follows
        else if (answer === 'left') tally.left++;
        else if (answer === 'unread') tally.unread++;
        return answer === 'retry';
      };
      await inTurn(
        ids,
        async (id) => void ((await check(id)) && retry.push(id)),
        () => signedOut,
      );
      if (signedOut) return end('');
      if (retry.length === 0) return end(t('retryAllNone', { step: title, ...tally }));
      if (!(await confirmAction(t('confirmRetryAll', { step: title, n: retry.length, ...tally }), t('retry'))))
        return end('');
      const key = newActionId();
      const counts = { accepted: 0, refused: 0, unknown: 0 };
      const codes = new Map<string, number>();
      let done = 0;
      await inTurn(
        retry,
        async (id) => {
          // Read again: the confirmation may have stayed open while a colleague retried it.
          if (await check(id)) {
            try {
              const answer = await call('POST', `/v1/applications/${id}/steps/${step}/retry`, {
                // Refused (409) if a colleague's retry has put the step back to its agency since it was read.
                body: { onlyInIncident: true },
                idempotencyKey: `${key}:${id}`,
              });
              if (answer.ok) counts.accepted++;
              else if (answer.status === 401) signedOut = true;
              else if (answer.status >= 500 || answer.status === 408 || answer.status === 429) counts.unknown++;
              else {
                counts.refused++;
                const code = answer.error?.code ?? String(answer.status);
                codes.set(code, (codes.get(code) ?? 0) + 1);
              }
            } catch {
              counts.unknown++;
            }
          }
          say(t('retryAllRunning', { done: ++done, total: retry.length }));
        },
        () => signedOut,
      );
      if (signedOut) return end('');
      const refusedCodes = [...codes].map(([code, n]) => `${code} × ${n}`);
      end(
        t('retryAllDone', { ...counts, ...tally, codes: refusedCodes.length > 0 ? aside(...refusedCodes) : '' }),
        counts.accepted,
      );
    } catch (err) {
      end(t('unreachable', { message: (err as Error).message }));
    }
  };
  button.addEventListener('click', () => void run());
  return {
    el: h(
      'div',
      { class: 'bulk', 'data-testid': 'retry-all-bar' },
      button,
      progress,
      h('p', { id: 'retry-all-help', class: 'help' }, t('retryAllHelp', { step: title })),
      result,
    ),
    stop: () => retryAllRound?.views.delete(view),
  };
}

/** `role`: only an operator acts on the list (retry all); a supervisor looks. */
export function listPage(query: string, role: string): Page {
  const filters = filtersFromHash(query);
  const filterKey = JSON.stringify(filters);
  const state =
    remembered?.key === filterKey ? remembered : { key: filterKey, tokens: [undefined], index: 0, scrollY: 0 };
  remembered = state;
  const rows = new Map<string, { el: HTMLTableRowElement; signature: string }>();
  let firstRender = true;

  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': t('filters') },
    select(
      'status',
      t('fStatus'),
      APPLICATION_STATES.map((s) => [s, tk('status', s)]),
      filters.status,
    ),
    select(
      'sla',
      t('fSla'),
      LEVELS.map((l) => [l, tk('sla', l)]),
      filters.sla,
    ),
    select(
      'district',
      t('fDistrict'),
      Object.entries(NANCHANG_DISTRICTS).map(([code]) => [code, districtName(code)]),
      filters.district,
    ),
    select(
      'task',
      t('fTask'),
      TASKS.map((task) => [
        task,
        task.startsWith('incident:') ? t('task_incident', { step: stepTitle(task.slice(9)) }) : tk('task', task),
      ]),
      filters.task,
    ),
    h(
      'div',
      { class: 'field grow' },
      h('label', { for: 'f-q' }, t('fQuery')),
      h('input', { id: 'f-q', name: 'q', type: 'search', value: filters.q ?? '', maxlength: 60 }),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'f-sort' }, t('sortLabel')),
      h(
        'select',
        { id: 'f-sort', name: 'sort' },
        h('option', { value: '' }, t('sortUrgency')),
        h('option', { value: 'newest', selected: filters.sort === 'newest' }, t('sortNewest')),
      ),
    ),
    h(
      'div',
      { class: 'field buttons' },
      h('button', { type: 'submit', class: 'primary' }, t('apply')),
      h('button', { type: 'reset', class: 'secondary' }, t('reset')),
    ),
  );
  const readForm = (): Filters => {
    const data = new FormData(form);
    const next: Filters = filters.pageSize ? { pageSize: filters.pageSize } : {};
    for (const name of [...FILTERS, 'sort'] as const) {
      const value = String(data.get(name) ?? '').trim();
      if (value) next[name] = value;
    }
    return next;
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = hashFor(readForm());
  });
  form.addEventListener('change', (e) => {
    if ((e.target as HTMLElement).tagName === 'SELECT') location.hash = hashFor(readForm());
  });
  form.addEventListener('reset', (e) => {
    e.preventDefault();
    location.hash = hashFor({});
  });

  const tbody = h('tbody');
  const caption = h('caption', { class: 'visually-hidden' });
  const table = h(
    'table',
    { class: 'applications', 'data-testid': 'applications' },
    caption,
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        [
          t('colSla'),
          t('colCompany'),
          t('colId'),
          t('colDistrict'),
          t('colStatus'),
          t('colTasks'),
          t('colSubmitted'),
          t('colDue'),
        ].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    tbody,
  );
  const emptyNote = h('p', { class: 'empty', hidden: true }, t('empty'));
  const problem = h('div');
  const updated = h('span', { class: 'updated', 'data-testid': 'updated' });
  const auto = h('input', { type: 'checkbox', id: 'auto-refresh', checked: true }) as HTMLInputElement;
  const prev = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': 'prev' },
    t('prevPage'),
  ) as HTMLButtonElement;
  const next = h(
    'button',
    { type: 'button', class: 'secondary', 'data-testid': 'next' },
    t('nextPage'),
  ) as HTMLButtonElement;
  const pageLabel = h('span', { class: 'page-n', 'aria-live': 'polite' });

  const render = (page: ApplicationPage) => {
    const items = [...page.items];
    if (filters.sort !== 'newest') items.sort(byUrgency);
    const wanted = items.map((item) => {
      const signature = JSON.stringify(item) + document.documentElement.lang;
      const known = rows.get(item.id);
      if (known && known.signature === signature) return known.el;
      const el = row(item);
      const focusedKey = known?.el.contains(document.activeElement)
        ? (document.activeElement as HTMLElement).dataset.focusKey
        : undefined;
      if (known) known.el.replaceWith(el);
      rows.set(item.id, { el, signature });
      if (focusedKey) el.querySelector<HTMLElement>(`[data-focus-key="${focusedKey}"]`)?.focus({ preventScroll: true });
      return el;
    });
    const keep = new Set(items.map((i) => i.id));
    for (const [id, { el }] of rows) {
      if (!keep.has(id)) {
        el.remove();
        rows.delete(id);
      }
    }
    // Reorder only what moved: moving a node that holds focus would drop the focus.
    wanted.forEach((el, i) => {
      if (tbody.children[i] !== el) tbody.insertBefore(el, tbody.children[i] ?? null);
    });
    caption.textContent = t('listCaption', { n: items.length });
    emptyNote.hidden = items.length > 0;
    state.tokens[state.index + 1] = page.nextPageToken ?? undefined;
    if (!page.nextPageToken) state.tokens.length = state.index + 1;
    prev.disabled = state.index === 0;
    next.disabled = !page.nextPageToken;
    pageLabel.textContent = t('pageN', { n: state.index + 1 });
    updated.textContent = t('updatedAt', { time: formatTime(Date.now(), { date: false }) });
    if (firstRender && state.scrollY) window.scrollTo(0, state.scrollY);
    firstRender = false;
  };

  const load = async () => {
    const size = Number(filters.pageSize);
    const index = state.index;
    const path = listPath(
      filters,
      Number.isInteger(size) && size >= 1 && size <= 100 ? size : PAGE_SIZE,
      state.tokens[index],
    );
    try {
      const answer = await call<ApplicationPage>('GET', path);
      // The page changed while this one was asked for: its answer belongs to no page shown (the poller asks again).
      if (state.index !== index) return;
      if (answer.ok && answer.body) {
        replaceChildren(problem);
        render(answer.body);
      } else if (answer.status !== 401) {
        replaceChildren(problem, errorBox(`${answer.error?.code}: ${answer.error?.message}`));
      }
    } catch (err) {
      replaceChildren(problem, errorBox(t('unreachable', { message: (err as Error).message })));
    }
  };

  const poller = new Poller(load, REFRESH_MS);
  auto.addEventListener('change', () => (auto.checked ? poller.start() : poller.stop()));
  const go = (delta: number) => {
    const target = Math.max(0, state.index + delta);
    // A page whose token has not come yet (Next clicked again before the page it opens answered) is no page: it was
    // loaded without a token, the first page, under the later page's number.
    if (target > 0 && state.tokens[target] === undefined) return;
    state.index = target;
    void poller.now();
  };
  prev.addEventListener('click', () => go(-1));
  next.addEventListener('click', () => go(1));

  const retryAll = role === 'operator' ? retryAllBar(filters, () => poller.now()) : null;
  const el = h(
    'div',
    { class: 'list-page' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, t('listTitle')),
      h(
        'div',
        { class: 'refresh' },
        h('label', { for: 'auto-refresh', class: 'check' }, auto, t('autoRefresh')),
        updated,
      ),
    ),
    form,
    retryAll?.el ?? null,
    problem,
    h('div', { class: 'table-wrap' }, table),
    emptyNote,
    h('nav', { class: 'pager', 'aria-label': t('pagination') }, prev, pageLabel, next),
  );

  const onScroll = () => (state.scrollY = window.scrollY);
  window.addEventListener('scroll', onScroll, { passive: true });
  poller.start();
  return {
    el,
    title: t('listTitle'),
    stop: () => {
      poller.stop();
      retryAll?.stop();
      window.removeEventListener('scroll', onScroll);
    },
  };
}
