/**
 * One application: header, actions, the SLA clock, the step timeline and table, review, results,
 * alerts, compensations and the audit trail. Polled every few seconds; the actions panel is rebuilt
 * only when what the operator can do changes, so a half-written reason is never lost to a refresh.
 */
import { FINAL_STATES, type ApplicationStatus, type CompensationRecord, type StepStatus } from '../../domain/status';
import { call, newActionId, type Answer } from './api';
import { gauge, timeline, type TimelineRow } from './charts';
import { h, replaceKeepingFocus, type Child } from './dom';
import {
  aside,
  bilingual,
  districtName,
  formatDuration,
  formatPercent,
  formatTime,
  t,
  tk,
  type MessageKey,
} from './i18n';
import { stepTitle } from './list';
import type { Page } from './page';
import { readSla, type ClockView, type SlaView } from './sla';
import { confirmAction, errorBox, Poller, slaPill, statusPill, taskBadges } from './ui';
import type { ActionAnswer } from './types';

const REFRESH_MS = 3000;
const FINAL = new Set<string>(FINAL_STATES);

/**
 * Nothing on the page can change any more: the application has ended (in Kaiban, with every alert delivery and every
 * undo settled — a completed application stays open until its webhooks are delivered and a step done offline has had
 * our filing for it cancelled — or in Temporal, for good).
 */
function settled(status: ApplicationStatus): boolean {
  if (status.endedInTemporal) return true;
  if (!FINAL.has(status.status)) return false;
  if (status.compensations.some((c) => c.state === 'running' || c.state === 'incident')) return false;
  return !status.sla?.alerts.some((alert) => alert.deliveries.some((d) => d.state === 'pending'));
}

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'card', id, 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, title),
    ...children,
  );
}

function dl(entries: [string, Child][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    entries
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
}

const LEVEL_RANK: Record<string, number> = { on_track: 0, warning: 1, breached: 2 };

/**
 * The worst level of the application's clock and its steps' — what the list shows and filters on (KaibanSlaLevel) —
 * naming the step when one is worse than the whole application (a seal over its 2 h, the application on track).
 */
function headerSla(status: ApplicationStatus, applicationLevel: string | undefined): HTMLElement {
  let worst: { level: string | undefined; step?: string } = { level: applicationLevel };
  for (const step of status.steps) {
    const level = step.sla?.level;
    if (level && (LEVEL_RANK[level] ?? 0) > (LEVEL_RANK[worst.level ?? 'on_track'] ?? 0))
      worst = { level, step: step.id };
  }
  return slaPill(worst.level, worst.step && stepTitle(worst.step));
}

function value(v: unknown): Child {
  if (v === undefined || v === null || v === '') return '—';
  // An instant (a dossier's archivedAt, a notification's acceptedAt) in Shanghai time, as every other time here.
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return formatTime(v);
  if (typeof v === 'string' && /^https?:\/\//.test(v))
    return h('a', { href: v, rel: 'noopener noreferrer', target: '_blank', 'data-focus-key': `link:${v}` }, v);
  if (Array.isArray(v))
    return h(
      'ul',
      { class: 'plain' },
      v.map((x) => h('li', null, value(x))),
    );
  if (typeof v === 'object')
    return h(
      'dl',
      { class: 'nested' },
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [h('dt', null, k), h('dd', null, value(x))]),
    );
  return String(v);
}

function actorText(by: { subject: string; role: string } | undefined): string {
  return by ? `${tk('role', by.role)} ${by.subject}` : '—';
}

function stepState(step: StepStatus): HTMLElement {
  return h('span', { class: `pill step state-${step.state}`, 'data-state': step.state }, tk('step', step.state));
}

function statutoryCell(clock: ClockView | undefined): Child {
  if (!clock) return '—';
  return [bilingual(clock.statutory), clock.statutoryBasis ? h('span', { class: 'sub' }, clock.statutoryBasis) : null];
}

// ---- sections ------------------------------------------------------------------------------

function slaSection(status: ApplicationStatus, sla: SlaView | undefined): Child[] {
  if (!sla) return [h('p', { class: 'muted' }, t('clockNotStarted'))];
  const notes: Child[] = [
    sla.missingCalendarYear ? errorBox(t('missingYear', { year: sla.missingCalendarYear })) : null,
    sla.error ? errorBox(sla.error) : null,
  ];
  const app = sla.application;
  if (!app || sla.state === 'starting') return [...notes, h('p', { class: 'muted' }, t('slaStarting'))];
  const open = !FINAL.has(status.status);
  return [
    ...notes,
    h(
      'div',
      { class: 'clock', 'data-testid': 'sla-clock', 'data-sla': app.level },
      slaPill(app.level),
      sla.pausedNow && open ? h('span', { class: 'badge paused' }, t('pausedNow')) : null,
      gauge(app.consumed, app.level, {
        width: 520,
        height: 22,
        label: `${t('consumed')} ${formatPercent(app.consumed)}`,
      }),
      h('span', { class: 'big' }, formatPercent(app.consumed)),
    ),
    dl([
      [t('due'), app.dueAt ? h('time', { datetime: app.dueAt }, formatTime(app.dueAt)) : undefined],
      [t('warningAt'), app.warningAt ? h('time', { datetime: app.warningAt }, formatTime(app.warningAt)) : undefined],
      [t('colBudget'), `${formatDuration(app.budgetMs)}${aside(tk('rule', app.countingRule))}`],
      [t('consumed'), `${formatDuration(app.elapsedMs)}${aside(formatPercent(app.consumed))}`],
      [
        t('workingLeft'),
        app.leftMs === undefined
          ? undefined
          : app.leftMs >= 0
            ? formatDuration(app.leftMs)
            : t('overdue', { time: formatDuration(-app.leftMs) }),
      ],
      [t('pausedTotal'), sla.pausedMs > 0 || sla.pausedNow ? formatDuration(sla.pausedMs) : undefined],
    ]),
    sla.pauses.length > 0
      ? h(
          'div',
          null,
          h('h3', null, t('pauses')),
          h(
            'ul',
            { class: 'plain pauses' },
            sla.pauses.map((p) =>
              h(
                'li',
                null,
                `${formatTime(p.from)} – ${p.to ? formatTime(p.to) : t('now')}${aside(formatDuration(p.workingMs), tk('pause', p.reason))}`,
              ),
            ),
          ),
        )
      : null,
  ];
}

function timelineSection(status: ApplicationStatus, sla: SlaView | undefined, now: number): Child[] {
  // From the clock start: the submission (a worker may take the application up later).
  const from = Date.parse(status.submittedAt);
  const ends = status.steps.flatMap((s) => (s.finishedAt ? [Date.parse(s.finishedAt)] : []));
  const anyOpen = status.steps.some((s) => s.startedAt && !s.finishedAt);
  const until = Math.max(
    from + 1000,
    status.finishedAt
      ? Date.parse(status.finishedAt)
      : anyOpen || !FINAL.has(status.status)
        ? now
        : Math.max(from, ...ends),
  );
  const rows: TimelineRow[] = status.steps.map((step) => {
    const clock = sla?.steps.get(step.id);
    const label = bilingual(step.title);
    const open = !!step.startedAt && !step.finishedAt && !FINAL.has(status.status);
    return {
      id: step.id,
      label,
      state: step.state,
      needs: step.needs,
      start: step.startedAt ? Date.parse(step.startedAt) : undefined,
      end: step.finishedAt ? Date.parse(step.finishedAt) : open ? undefined : step.startedAt ? until : undefined,
      open,
      due: clock?.dueAt && !step.finishedAt ? Date.parse(clock.dueAt) : undefined,
      title: `${label}：${tk('step', step.state)}，${formatTime(step.startedAt)} – ${step.finishedAt ? formatTime(step.finishedAt) : t('now')}`,
    };
  });
  const appDue = sla?.application?.dueAt ? Date.parse(sla.application.dueAt) : undefined;
  const desc = `${t('timelineDesc')}：${rows.map((r) => r.title).join('；')}`;

  const table = h(
    'table',
    { class: 'steps', 'data-testid': 'steps' },
    h('caption', { class: 'visually-hidden' }, t('timelineTitle')),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        [
          t('colStep'),
          t('colState'),
          t('colBudget'),
          t('colActual'),
          t('colConsumed'),
          t('colStatutory'),
          t('colAttempts'),
          t('colTicket'),
          t('colError'),
        ].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      null,
      status.steps.map((step) => {
        const clock = sla?.steps.get(step.id);
        const wallMs = step.startedAt
          ? (step.finishedAt ? Date.parse(step.finishedAt) : now) - Date.parse(step.startedAt)
          : undefined;
        const needs = step.needs.length ? t('dependsOn', { steps: step.needs.map(stepTitle).join('、') }) : '';
        return h(
          'tr',
          { 'data-step': step.id, 'data-state': step.state, class: step.state === 'incident' ? 'incident' : '' },
          h('th', { scope: 'row' }, bilingual(step.title), needs ? h('span', { class: 'sub' }, needs) : null),
          h(
            'td',
            null,
            stepState(step),
            step.decidedVia ? h('span', { class: 'sub' }, tk('via', step.decidedVia)) : null,
          ),
          h('td', null, clock ? formatDuration(clock.budgetMs) : '—'),
          h(
            'td',
            null,
            clock && clock.clock !== 'not_started' ? formatDuration(clock.elapsedMs) : '—',
            wallMs !== undefined ? h('span', { class: 'sub' }, `${t('wallClock')} ${formatDuration(wallMs)}`) : null,
          ),
          h(
            'td',
            { class: 'consumed' },
            clock && clock.clock !== 'not_started'
              ? [
                  gauge(clock.consumed, clock.level, {
                    label: `${bilingual(step.title)} ${t('consumed')} ${formatPercent(clock.consumed)}`,
                  }),
                  ' ',
                  formatPercent(clock.consumed),
                ]
              : '—',
          ),
          h('td', null, statutoryCell(clock)),
          h('td', { class: 'num' }, step.attempts),
          h('td', null, step.ticket ? h('code', null, step.ticket) : '—'),
          h(
            'td',
            { class: 'error-cell' },
            step.error
              ? [
                  h('strong', null, step.error.code),
                  ' ',
                  step.error.reason ? (lang2(step.error.reason) ?? step.error.message) : step.error.message,
                ]
              : '—',
          ),
        );
      }),
    ),
  );
  return [
    h('div', { class: 'timeline-wrap' }, timeline(rows, from, until, appDue, desc)),
    h('div', { class: 'table-wrap' }, table),
  ];
}

/**
 * Why the application ended, in the console's language: an agency's rejection by the agency's own bilingual reason
 * (the outcome's text is the workflow's, in English), anything else by its known phrase or as written.
 */
function outcomeReason(status: ApplicationStatus): string {
  const outcome = status.outcome!;
  const agencyReason =
    outcome.by?.role === 'agency' && outcome.step
      ? status.steps.find((s) => s.id === outcome.step)?.error?.reason
      : undefined;
  if (!agencyReason) return tk('reason', outcome.reason);
  return `${lang2(agencyReason) ?? outcome.reason}${aside(agencyReason.code)}`;
}

function lang2(reason: { message_zh?: string; message_en?: string }): string | undefined {
  return document.documentElement.lang === 'en'
    ? (reason.message_en ?? reason.message_zh)
    : (reason.message_zh ?? reason.message_en);
}

function reviewSection(status: ApplicationStatus): Child[] {
  const review = status.review;
  if (!review) return [h('p', { class: 'muted' }, '—')];
  return [
    h(
      'p',
      null,
      review.decision === 'auto_approve' && review.state === 'not_needed' ? t('autoApproved') : t('manualReview'),
      ' ',
      h('span', { class: `pill review-${review.state}` }, tk('review', review.state)),
    ),
    review.findings.length
      ? h(
          'div',
          null,
          h('h3', null, t('findings')),
          h(
            'ul',
            { class: 'findings' },
            review.findings.map((f) => h('li', null, h('code', null, f.path), ' ', bilingual(f.reason))),
          ),
        )
      : null,
    dl([
      [
        t('decidedBy'),
        review.decidedBy ? `${actorText(review.decidedBy)} · ${formatTime(review.decidedAt)}` : undefined,
      ],
      [t('reason'), review.reason],
      [
        t('correctionAsked'),
        review.correction
          ? `${review.correction.message}${aside(review.correction.fields.join(', '))} · ${formatTime(review.correction.requestedAt)}${review.correction.answeredAt ? ` → ${formatTime(review.correction.answeredAt)}` : ''}`
          : undefined,
      ],
    ]),
  ];
}

function resultsSection(status: ApplicationStatus): Child[] {
  const entries = Object.entries(status.results ?? {}).filter(([, v]) => v !== undefined && v !== null);
  if (entries.length === 0) return [h('p', { class: 'muted' }, t('noResults'))];
  return [dl(entries.map(([k, v]) => [tk('res', k), value(v)]))];
}

function alertsSection(sla: SlaView | undefined): Child[] {
  if (!sla || sla.alerts.length === 0) return [h('p', { class: 'muted' }, t('noAlerts'))];
  return [
    h(
      'table',
      { class: 'alerts' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          [t('colScope'), t('colLevel'), t('thresholdAt'), t('due'), t('colConsumed'), t('colDelivery')].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        sla.alerts.map((a) =>
          h(
            'tr',
            null,
            h('td', null, a.scope === 'application' ? t('wholeApplication') : stepTitle(a.scope)),
            h('td', null, slaPill(a.level)),
            h('td', null, formatTime(a.thresholdAt)),
            h('td', null, formatTime(a.dueAt)),
            h('td', null, formatPercent(a.consumed)),
            h(
              'td',
              null,
              a.deliveries.length
                ? h(
                    'ul',
                    { class: 'plain' },
                    a.deliveries.map((d) =>
                      h(
                        'li',
                        { title: d.error ?? '' },
                        `${t('labelled', { label: d.channel, value: tk('delivery', d.state) })}${d.attempts ? aside(t('attemptsN', { n: d.attempts })) : ''}`,
                      ),
                    ),
                  )
                : '—',
            ),
          ),
        ),
      ),
    ),
  ];
}

function compensationsSection(status: ApplicationStatus): Child[] {
  return [
    h(
      'table',
      null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          [
            t('colStep'),
            t('colAction'),
            t('colState'),
            t('colAt'),
            t('finishedAt'),
            t('colAttempts'),
            t('colResult'),
          ].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        null,
        status.compensations.map((c) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row' }, stepTitle(c.step)),
            h('td', null, tk('comp', c.action)),
            h('td', null, c.error?.code === 'UNDO_OFFLINE' ? t('comp_offline') : tk('comp', c.state)),
            h('td', null, formatTime(c.startedAt)),
            h('td', null, formatTime(c.finishedAt)),
            h('td', { class: 'num' }, c.attempts),
            h(
              'td',
              null,
              c.state === 'skipped' && c.reason
                ? `${tk('comp', 'undone_offline')}: ${c.reason}`
                : c.result
                  ? tk('result', c.result)
                  : '—',
            ),
          ),
        ),
      ),
    ),
  ];
}

function auditSection(status: ApplicationStatus): Child[] {
  if (status.audit.length === 0) return [h('p', { class: 'muted' }, t('noAudit'))];
  return [
    h(
      'table',
      { class: 'audit', 'data-testid': 'audit' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          [t('colAt'), t('colBy'), t('colAction'), t('colStep'), t('colReason')].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        null,
        status.audit.map((e) =>
          h(
            'tr',
            null,
            h('td', null, h('time', { datetime: e.at }, formatTime(e.at))),
            h('td', null, actorText(e.by)),
            h('td', null, tk('act', e.action), ...correctionChanges(e.detail)),
            h('td', null, e.step ? stepTitle(e.step) : '—'),
            // A person's reason as written; the API's default one (a withdrawal without a reason) translated.
            h('td', null, e.reason ? tk('reason', e.reason) : '—'),
          ),
        ),
      ),
    ),
  ];
}

/** The fields an applicant's correction changed (names only), those the operator did not ask for marked. */
function correctionChanges(detail: Record<string, unknown> | undefined): Child[] {
  const list = (key: string) =>
    Array.isArray(detail?.[key]) ? (detail[key] as unknown[]).filter((p) => typeof p === 'string') : [];
  const changed = list('changed');
  const unrequested = list('unrequested');
  return [
    ...(changed.length > 0
      ? [
          h(
            'div',
            { class: 'muted', 'data-testid': 'correction-changed' },
            t('correctionChanged', { fields: changed.join(', ') }),
          ),
        ]
      : []),
    ...(unrequested.length > 0
      ? [
          h(
            'div',
            { class: 'warn', 'data-testid': 'correction-unrequested' },
            t('correctionUnrequested', { fields: unrequested.join(', ') }),
          ),
        ]
      : []),
  ];
}

// ---- actions -------------------------------------------------------------------------------

interface ActionContext {
  id: string;
  status: ApplicationStatus;
  result: HTMLElement;
  refresh: () => Promise<void>;
}

/**
 * How an action's request ended: `unknown` when no answer came or the server failed (a network error, 503 while
 * Temporal is unreachable): the action may have been taken, so a retry must send the same Idempotency-Key.
 */
type Outcome = 'accepted' | 'refused' | 'unknown';

/** An action's Idempotency-Key: kept for a retry of an action whose outcome is unknown, new after an answer. */
interface ActionKey {
  readonly id: string;
  after(outcome: Outcome): void;
}

function actionKey(): ActionKey {
  let id = newActionId();
  return {
    get id() {
      return id;
    },
    after(outcome) {
      if (outcome !== 'unknown') id = newActionId();
    },
  };
}

/** Sends an action under `key`, shows the answer, refreshes the page; the key is renewed once the outcome is known. */
async function send(ctx: ActionContext, path: string, body: unknown, key: ActionKey): Promise<void> {
  key.after(await sendOnce(ctx, path, body, key.id));
}

async function sendOnce(ctx: ActionContext, path: string, body: unknown, actionId: string): Promise<Outcome> {
  let answer: Answer<ActionAnswer>;
  try {
    answer = await call<ActionAnswer>('POST', `/v1/applications/${ctx.id}${path}`, {
      body,
      idempotencyKey: actionId,
    });
  } catch (err) {
    // No answer: say so (the button stayed disabled and nothing was shown), and let the operator send it again.
    replaceKeepingFocus(
      ctx.result,
      h(
        'p',
        { class: 'error', 'data-testid': 'action-answer', 'data-accepted': 'unknown', tabindex: '-1' },
        t('unreachable', { message: (err as Error).message }),
      ),
    );
    ctx.result.querySelector<HTMLElement>('p')?.focus();
    return 'unknown';
  }
  let message: string;
  if (answer.ok && answer.body) {
    const a = answer.body;
    message = t('accepted', { action: tk('act', a.action), time: formatTime(a.at), status: tk('status', a.status) });
    replaceKeepingFocus(
      ctx.result,
      h('p', { class: 'ok', 'data-testid': 'action-answer', 'data-accepted': 'true', tabindex: '-1' }, message),
    );
  } else {
    const issues = answer.error?.issues?.map((i) => `${i.path}: ${i.message}`).join('; ');
    message = t('refused', {
      code: answer.error?.code ?? String(answer.status),
      message: `${answer.error?.message ?? ''}${issues ? ` (${issues})` : ''}`,
    });
    replaceKeepingFocus(
      ctx.result,
      h('p', { class: 'error', 'data-testid': 'action-answer', 'data-accepted': 'false', tabindex: '-1' }, message),
    );
  }
  await ctx.refresh();
  // The panel is rebuilt when the action changes what can be done; focus then goes to the answer.
  if (!document.activeElement || document.activeElement === document.body)
    ctx.result.querySelector<HTMLElement>('p')?.focus();
  return answer.ok ? 'accepted' : answer.status >= 500 ? 'unknown' : 'refused';
}

function reasonField(id: string, required = true): HTMLTextAreaElement {
  return h('textarea', {
    id,
    name: 'reason',
    rows: 2,
    maxlength: 500,
    required,
    'aria-describedby': `${id}-help`,
  }) as HTMLTextAreaElement;
}

function reviewForm(ctx: ActionContext): HTMLElement {
  const key = actionKey();
  const reason = reasonField('review-reason');
  const findings = ctx.status.review?.findings ?? [];
  const paths = [...new Set(findings.map((f) => f.path))];
  const fields = h(
    'fieldset',
    { class: 'fields', hidden: true },
    h('legend', null, t('fieldsToCorrect')),
    paths.map((p, i) =>
      h(
        'label',
        { class: 'check' },
        h('input', { type: 'checkbox', name: 'fields', value: p, id: `field-${i}`, checked: true }),
        p,
      ),
    ),
  );
  // A name the regulator refused cannot be approved (the workflow refuses NAME_REFUSED): correct it, or reject.
  const nameRefused = ctx.status.steps.find((s) => s.id === 'name')?.state === 'rejected';
  const radio = (value: string, label: MessageKey, disabled = false) =>
    h(
      'label',
      { class: 'check' },
      h('input', {
        type: 'radio',
        name: 'decision',
        value,
        required: true,
        disabled,
        'data-testid': `decision-${value}`,
      }),
      t(label),
    );
  const form = h(
    'form',
    { class: 'action-form', 'aria-labelledby': 'review-h', 'data-testid': 'review-form' },
    h('h3', { id: 'review-h' }, t('reviewTitle')),
    findings.length
      ? h(
          'ul',
          { class: 'findings' },
          findings.map((f) => h('li', null, h('code', null, f.path), ' ', bilingual(f.reason))),
        )
      : null,
    h(
      'fieldset',
      { class: 'decision' },
      h('legend', null, t('decision')),
      radio('approve', 'approve', nameRefused),
      radio('reject', 'reject'),
      radio('request_correction', 'requestCorrection'),
    ),
    fields,
    h('label', { for: 'review-reason' }, t('reason')),
    reason,
    h('p', { id: 'review-reason-help', class: 'help' }, t('reasonHelp')),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'review-submit' }, t('submit')),
  );
  form.addEventListener('change', () => {
    const decision = new FormData(form).get('decision');
    fields.hidden = decision !== 'request_correction' || paths.length === 0;
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const data = new FormData(form);
      const decision = String(data.get('decision') ?? '');
      if (decision === 'reject' && !(await confirmAction(t('confirmReject'), t('reject'), true))) return;
      const body: Record<string, unknown> = { decision, reason: reason.value.trim() };
      if (decision === 'request_correction') body.fields = data.getAll('fields').map(String);
      const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
      button.disabled = true;
      try {
        await send(ctx, '/review', body, key);
      } finally {
        button.disabled = false;
      }
    })();
  });
  return form;
}

/**
 * What a step done offline must bring for the steps after it (domain/offline-outputs.ts): the license's USCC, the
 * name's reservation, the seals' record ids (one per line or separated by commas). None for the other steps.
 */
function offlineOutputField(
  stepId: string,
):
  | { input: HTMLInputElement; label: 'skipUscc' | 'skipReservation' | 'skipSeals'; output(): Record<string, unknown> }
  | undefined {
  const field = (id: string, attrs: Record<string, string | number | boolean>) =>
    h('input', { id, name: id, required: true, autocomplete: 'off', ...attrs }) as HTMLInputElement;
  switch (stepId) {
    case 'license': {
      const input = field('skip-uscc', { maxlength: 18, pattern: '[0-9A-HJ-NPQRTUWXY]{18}' });
      return { input, label: 'skipUscc', output: () => ({ uscc: input.value.trim() }) };
    }
    case 'name': {
      const input = field('skip-reservation', { maxlength: 100 });
      return { input, label: 'skipReservation', output: () => ({ reservationId: input.value.trim() }) };
    }
    case 'seal': {
      const input = field('skip-seals', { maxlength: 2000 });
      const ids = () =>
        input.value
          .split(/[\s,，、]+/)
          .map((id) => id.trim())
          .filter(Boolean);
      return { input, label: 'skipSeals', output: () => ({ seals: ids().map((recordId) => ({ recordId })) }) };
    }
    default:
      return undefined;
  }
}

/**
 * Retry or skip for a step in an incident, or one waiting for its agency (`waiting`: ask again, or done offline), or
 * (`undo`) for its undo the agency refused while the application ends.
 */
function incidentForm(ctx: ActionContext, step: StepStatus, undo?: CompensationRecord, waiting = false): HTMLElement {
  const title = bilingual(step.title);
  const reason = reasonField(`skip-reason-${step.id}`);
  const error = undo ? undo.error : step.error;
  // An archive skipped is not done offline: its dossier is sealed all the same, the applicant having been told
  // otherwise (the step then shows as skipped).
  const archive = step.id === 'archive' && !undo;
  const skipLabel = t(undo ? 'skipUndo' : archive ? 'skipArchive' : 'skip');
  const offline = undo ? undefined : offlineOutputField(step.id);
  const retryKey = actionKey();
  const skipKey = actionKey();
  const retry = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      'data-testid': `retry-${step.id}`,
      onclick: async () => {
        if (await confirmAction(t(undo ? 'confirmRetryUndo' : 'confirmRetry', { step: title }), t('retry')))
          // From an incident, only that incident: a colleague's retry may have sent the step to its agency already.
          await send(ctx, `/steps/${step.id}/retry`, waiting ? {} : { onlyInIncident: true }, retryKey);
      },
    },
    t('retry'),
  );
  const skip = h(
    'form',
    { class: 'inline-form' },
    h('label', { for: `skip-reason-${step.id}` }, t('reason')),
    reason,
    h('p', { id: `skip-reason-${step.id}-help`, class: 'help' }, t(archive ? 'reasonHelpArchive' : 'reasonHelp')),
    offline ? [h('label', { for: offline.input.id }, t(offline.label)), offline.input] : null,
    h('button', { type: 'submit', class: 'secondary', 'data-testid': `skip-${step.id}` }, skipLabel),
  );
  skip.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      const confirm = undo ? 'confirmSkipUndo' : archive ? 'confirmSkipArchive' : 'confirmSkip';
      if (!(await confirmAction(t(confirm, { step: title }), skipLabel))) return;
      await send(
        ctx,
        `/steps/${step.id}/skip`,
        { reason: reason.value.trim(), ...(offline ? { output: offline.output() } : {}) },
        skipKey,
      );
    })();
  });
  return h(
    'div',
    { class: 'action-form incident', 'aria-labelledby': `incident-${step.id}-h`, role: 'group' },
    h(
      'h3',
      { id: `incident-${step.id}-h` },
      t(
        waiting
          ? 'waitingTitle'
          : error?.code === 'UNDO_OFFLINE'
            ? 'offlineUndoTitle'
            : error?.code === 'AGENCY_SILENT'
              ? 'silentTitle'
              : error?.code === 'AGENCY_REJECTED' && !undo
                ? 'refusedTitle'
                : undo
                  ? 'undoIncidentTitle'
                  : 'incidentTitle',
        { step: title, since: formatTime(step.waitingSince) },
      ),
    ),
    error && !waiting
      ? h(
          'p',
          { class: 'error-text' },
          // An agency's refusal in the console's language, as the steps table gives it.
          `${error.code}: ${('reason' in error && error.reason && lang2(error.reason)) || error.message}`,
        )
      : null,
    // A step done offline is undone offline: nothing to retry at the agency.
    error?.code === 'UNDO_OFFLINE' ? null : h('div', { class: 'buttons' }, retry),
    skip,
  );
}

function abortForm(ctx: ActionContext): HTMLElement {
  const reason = reasonField('abort-reason');
  const key = actionKey();
  const form = h(
    'form',
    { class: 'inline-form' },
    h('p', { class: 'help' }, t('abortHelp')),
    h('label', { for: 'abort-reason' }, t('reason')),
    reason,
    h('p', { id: 'abort-reason-help', class: 'help' }, t('reasonHelp')),
    h('button', { type: 'submit', class: 'danger', 'data-testid': 'abort' }, t('abort')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void (async () => {
      if (await confirmAction(t('confirmAbort'), t('abort'), true))
        await send(ctx, '/abort', { reason: reason.value.trim() }, key);
    })();
  });
  return h('details', { class: 'abort' }, h('summary', null, t('abort')), form);
}

function actionsContent(ctx: ActionContext, role: string): Child[] {
  const { status } = ctx;
  // Temporal closed it without Kaiban: its last status may still show a review or an incident nobody can act on.
  if (status.endedInTemporal)
    return [h('p', { class: 'muted', 'data-testid': 'ended-no-actions' }, t('endedNoActions'))];
  // An undo the agency refused (while the application ends, of a corrected name's old reservation, or of our filing
  // for a step done offline, which can outlast the application) waits for an operator like a step in an incident;
  // once the application ends, nothing else does.
  const refusedUndos = status.compensations.filter((c) => c.state === 'incident');
  const ending = FINAL.has(status.status) || status.status === 'compensating';
  if (ending && refusedUndos.length === 0) return [h('p', { class: 'muted' }, t('noActions'))];
  if (role !== 'operator') return [h('p', { class: 'muted' }, t('readOnly'))];
  const undoForms = refusedUndos.map((undo) =>
    incidentForm(
      ctx,
      status.steps.find((s) => s.id === undo.step)!,
      undo,
    ),
  );
  if (ending) return undoForms;
  // A step still marked `incident` whose action was taken (a license retried while its owed name is reserved) waits for
  // no one: the workflow would refuse a second action.
  const incidents = status.steps.filter(
    (s) => s.state === 'incident' && status.pendingTasks.includes(`incident:${s.id}`),
  );
  // A step waiting for its agency's decision may be asked again or done offline before it is an incident: folded, as
  // most waits end by themselves.
  const waiting = status.steps.filter((s) => s.state === 'pending' && s.waitingSince);
  return [
    status.pendingTasks.includes('review') ? reviewForm(ctx) : null,
    incidents.map((step) => incidentForm(ctx, step)),
    undoForms,
    waiting.map((step) =>
      h(
        'details',
        { class: 'waiting', 'data-testid': `waiting-${step.id}` },
        h('summary', null, t('waitingSummary', { step: bilingual(step.title), since: formatTime(step.waitingSince) })),
        incidentForm(ctx, step, undefined, true),
      ),
    ),
    !status.pendingTasks.includes('review') && incidents.length === 0 && undoForms.length === 0
      ? h('p', { class: 'muted' }, t('noActions'))
      : null,
    // Once the archive step starts every procedure is done, the business started: nothing to abort (409 BUSINESS_STARTED).
    status.steps.some((s) => s.id === 'archive' && s.startedAt) ? null : abortForm(ctx),
  ];
}

// ---- page ----------------------------------------------------------------------------------

/**
 * The materials as submitted and corrected (GET …/application, personal numbers masked): what a reviewer checks the
 * findings against. Read each time it is opened, so a correction the applicant made meanwhile shows.
 */
function materialsPanel(id: string): HTMLElement {
  const body = h('div', { class: 'materials', 'data-testid': 'materials' });
  const panel = h('details', null, h('summary', null, t('materials')), body) as HTMLDetailsElement;
  panel.addEventListener('toggle', () => {
    if (!panel.open) return;
    replaceKeepingFocus(body, h('p', { class: 'muted' }, t('loading')));
    void call<{ application: Record<string, unknown> }>(
      'GET',
      `/v1/applications/${encodeURIComponent(id)}/application`,
    ).then(
      (answer) =>
        replaceKeepingFocus(
          body,
          answer.ok && answer.body
            ? value(answer.body.application)
            : errorBox(`${answer.error?.code}: ${answer.error?.message}`),
        ),
      (err: unknown) => replaceKeepingFocus(body, errorBox(t('unreachable', { message: (err as Error).message }))),
    );
  });
  return panel;
}

export function detailPage(id: string, role: string): Page {
  const heading = h('h1', { tabindex: '-1' }, t('loading'));
  const head = h('div', { class: 'detail-head' });
  const problem = h('div');
  const actionResult = h('div', {
    class: 'action-result',
    role: 'status',
    'aria-live': 'polite',
    'data-testid': 'action-result',
  });
  const actions = h('div', { class: 'actions-body' });
  const parts = {
    sla: h('div'),
    timeline: h('div'),
    review: h('div'),
    results: h('div'),
    alerts: h('div'),
    compensations: h('div'),
    audit: h('div'),
    outcome: h('div'),
  };
  let actionsSignature = '';

  const render = (status: ApplicationStatus) => {
    const sla = readSla(status);
    const now = Date.now();
    heading.textContent = status.company.name;
    document.title = `${status.company.name} · ${t('appName')}`;
    replaceKeepingFocus(
      head,
      h('p', { class: 'crumbs' }, h('a', { href: '#/applications', 'data-focus-key': 'back' }, `← ${t('back')}`)),
      h(
        'div',
        { class: 'status-line', 'data-testid': 'detail-status', 'data-status': status.status },
        statusPill(status.status, status.endedInTemporal),
        headerSla(status, sla?.application?.level),
        taskBadges(status.endedInTemporal ? [] : status.pendingTasks, stepTitle),
      ),
      dl([
        [t('colId'), h('code', null, status.id)],
        [t('colDistrict'), districtName(status.company.district)],
        [t('submittedAt'), formatTime(status.submittedAt)],
        [t('acceptedAt'), formatTime(status.acceptedAt)],
        [t('finishedAt'), status.finishedAt ? formatTime(status.finishedAt) : undefined],
      ]),
    );
    const signature = JSON.stringify([
      status.status,
      status.endedInTemporal,
      status.pendingTasks,
      status.steps.map((s) => s.state === 'incident'),
      // A step starting or ending a wait for its agency brings or takes its folded form.
      status.steps.map((s) => (s.state === 'pending' ? (s.waitingSince ?? null) : null)),
      status.compensations.map((c) => c.state === 'incident'),
      document.documentElement.lang,
    ]);
    if (signature !== actionsSignature) {
      actionsSignature = signature;
      replaceKeepingFocus(
        actions,
        actionsContent({ id, status, result: actionResult, refresh: () => poller.now() }, role),
      );
    }
    replaceKeepingFocus(parts.sla, ...slaSection(status, sla));
    replaceKeepingFocus(parts.timeline, ...timelineSection(status, sla, now));
    replaceKeepingFocus(parts.review, ...reviewSection(status));
    replaceKeepingFocus(parts.results, ...resultsSection(status));
    replaceKeepingFocus(parts.alerts, ...alertsSection(sla));
    replaceKeepingFocus(parts.audit, ...auditSection(status));
    parts.compensations.hidden = status.compensations.length === 0;
    if (status.compensations.length)
      replaceKeepingFocus(
        parts.compensations,
        section('compensations', t('compensations'), ...compensationsSection(status)),
      );
    parts.outcome.hidden = !status.outcome;
    if (status.outcome) {
      replaceKeepingFocus(
        parts.outcome,
        section(
          'outcome',
          t('outcome'),
          dl([
            [t('colReason'), outcomeReason(status)],
            [t('colBy'), actorText(status.outcome.by)],
            [t('colStep'), status.outcome.step ? stepTitle(status.outcome.step) : undefined],
          ]),
        ),
      );
    }
  };

  const load = async () => {
    try {
      const answer = await call<ApplicationStatus>('GET', `/v1/applications/${encodeURIComponent(id)}`);
      if (answer.ok && answer.body) {
        replaceKeepingFocus(problem);
        render(answer.body);
        if (settled(answer.body)) poller.stop();
      } else if (answer.status === 404) {
        heading.textContent = t('notFound');
        poller.stop();
      } else if (answer.status !== 401) {
        replaceKeepingFocus(problem, errorBox(`${answer.error?.code}: ${answer.error?.message}`));
      }
    } catch (err) {
      replaceKeepingFocus(problem, errorBox(t('unreachable', { message: (err as Error).message })));
    }
  };
  const poller = new Poller(load, REFRESH_MS);
  poller.start();

  const el = h(
    'div',
    { class: 'detail-page', 'data-id': id },
    heading,
    head,
    problem,
    h(
      'section',
      { class: 'card actions', id: 'actions', 'aria-labelledby': 'actions-h' },
      h('h2', { id: 'actions-h' }, t('actions')),
      actionResult,
      actions,
    ),
    parts.outcome,
    h(
      'div',
      { class: 'grid-2' },
      section('sla', t('slaTitle'), parts.sla),
      section('review', t('reviewInfo'), parts.review, materialsPanel(id)),
    ),
    section('timeline', t('timelineTitle'), h('p', { class: 'help' }, t('timelineDesc')), parts.timeline),
    h(
      'div',
      { class: 'grid-2' },
      section('results', t('results'), parts.results),
      section('alerts', t('alerts'), parts.alerts),
    ),
    parts.compensations,
    section('audit', t('audit'), parts.audit),
  );
  return { el, title: t('loading'), stop: () => poller.stop() };
}
