/** Pieces shared by the pages: pills, confirmation, polling. */
import { h } from './dom';
import { t, tk } from './i18n';
import type { SlaLevel } from './types';

const SLA_ICON: Record<string, string> = { on_track: '●', warning: '▲', breached: '■' };

/** SLA level as colour and shape and words (colour alone is not enough for everyone). */
export function slaPill(level: string | undefined, detail?: string): HTMLElement {
  const known = level === 'on_track' || level === 'warning' || level === 'breached';
  return h(
    'span',
    { class: `pill sla sla-${known ? level : 'none'}`, 'data-sla': known ? level : 'none' },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, known ? SLA_ICON[level] : '○'),
    known ? tk('sla', level) : t('noSla'),
    detail ? h('span', { class: 'detail' }, detail) : null,
  );
}

/** The application's status; one that Temporal closed without Kaiban says so instead of its last status. */
export function statusPill(status: string, endedInTemporal?: string): HTMLElement {
  if (endedInTemporal) {
    return h(
      'span',
      { class: 'pill status status-ended', 'data-status': status, 'data-ended': endedInTemporal },
      tk('ended', endedInTemporal),
    );
  }
  return h('span', { class: `pill status status-${status}`, 'data-status': status }, tk('status', status));
}

export function taskLabel(task: string, stepTitle: (id: string) => string): string {
  if (task.startsWith('incident:')) return t('task_incident', { step: stepTitle(task.slice('incident:'.length)) });
  return tk('task', task);
}

export function taskBadges(tasks: readonly string[], stepTitle: (id: string) => string): HTMLElement {
  return h(
    'span',
    { class: 'tasks' },
    tasks.map((task) => h('span', { class: `badge task-${task.split(':')[0]}` }, taskLabel(task, stepTitle))),
  );
}

export function levelRank(level: string | undefined): number {
  const ranks: Record<SlaLevel, number> = { breached: 0, warning: 1, on_track: 2 };
  return ranks[level as SlaLevel] ?? 3;
}

/** A modal confirmation (<dialog>: focus is trapped and Escape cancels). */
export function confirmAction(message: string, confirmLabel: string, danger = false): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-message' },
      h('h2', { id: 'confirm-title' }, t('confirmTitle')),
      h('p', { id: 'confirm-message' }, message),
      h(
        'form',
        { method: 'dialog', class: 'buttons' },
        h('button', { value: 'cancel', class: 'secondary', autofocus: true }, t('cancel')),
        h('button', { value: 'confirm', class: danger ? 'danger' : 'primary', 'data-testid': 'confirm' }, confirmLabel),
      ),
    );
    const opener = document.activeElement as HTMLElement | null;
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
      opener?.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * Calls `tick` every `intervalMs` while the page is visible and the poller is running; never two
 * at once. Pages stop their poller when the route changes.
 */
export class Poller {
  private timer: number | undefined;
  private running = false;
  private inFlight?: Promise<void>;
  private rerun?: Promise<void>;
  private readonly onVisibility = () => {
    if (document.visibilityState === 'visible' && this.running) void this.now();
  };

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    document.addEventListener('visibilitychange', this.onVisibility);
    void this.now();
  }

  stop(): void {
    this.running = false;
    window.clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
  }

  get active(): boolean {
    return this.running;
  }

  /**
   * Runs the tick now (after an action, a page change, or when the page comes back into view). Asked while a tick
   * runs, it runs once more when that one ends (several asks, once): the answer in flight may predate what was asked
   * for. It was dropped, so a page change during a refresh showed the old page under the new page's number.
   */
  now(): Promise<void> {
    window.clearTimeout(this.timer);
    if (this.inFlight) {
      this.rerun ??= this.inFlight.then(() => {
        this.rerun = undefined;
        return this.now();
      });
      return this.rerun;
    }
    const tick = (async () => {
      try {
        await this.tick();
      } finally {
        this.inFlight = undefined;
        if (this.running && !this.rerun) {
          this.timer = window.setTimeout(() => {
            if (document.visibilityState === 'visible') void this.now();
          }, this.intervalMs);
        }
      }
    })();
    this.inFlight = tick;
    return tick;
  }
}

export function errorBox(message: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, message);
}
