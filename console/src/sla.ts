/**
 * The SLA blocks of an application's status (domain/sla.ts: `status.sla` for the application, its
 * pauses and alerts; `steps[].sla` for each step) read into what the pages draw.
 */
import type { ApplicationSla, SlaAlertDelivery, SlaScopeStatus, StatutoryLimit } from '../../domain/sla';
import type { ApplicationStatus } from '../../domain/status';

export interface ClockView {
  level: string;
  clock: SlaScopeStatus['clock'];
  dueAt?: string;
  warningAt?: string;
  /** Fraction of the committed budget used (1 = due). */
  consumed: number;
  /** Working time counted so far, pauses excluded. */
  elapsedMs: number;
  budgetMs: number;
  budgetHours: number;
  statutory: { zh: string; en: string };
  statutoryBasis?: string;
  /** Working time left until due (negative when overdue); only while the clock runs or is paused. */
  leftMs?: number;
  pausedMs: number;
  countingRule: string;
}

export interface AlertView {
  scope: string;
  level: string;
  at: string;
  thresholdAt: string;
  dueAt: string;
  consumed: number;
  deliveries: SlaAlertDelivery[];
}

export interface SlaView {
  state: ApplicationSla['state'];
  countingRule?: string;
  missingCalendarYear?: number;
  error?: string;
  application?: ClockView;
  steps: Map<string, ClockView>;
  pausedMs: number;
  pausedNow: boolean;
  pauses: { from: string; to?: string; reason: string; workingMs: number }[];
  alerts: AlertView[];
}

export function statutoryWords(limit: StatutoryLimit): { zh: string; en: string } {
  switch (limit.kind) {
    case 'immediate':
      return { zh: '即时办结', en: 'Immediate' };
    case 'working_days':
      return { zh: `${limit.value} 个工作日`, en: `${limit.value} working day${limit.value === 1 ? '' : 's'}` };
    case 'days':
      return { zh: `${limit.value} 日`, en: `${limit.value} day${limit.value === 1 ? '' : 's'}` };
    case 'none':
      return { zh: '—', en: '—' };
  }
}

function clock(scope: SlaScopeStatus | undefined): ClockView | undefined {
  if (!scope) return undefined;
  const open = scope.clock === 'running' || scope.clock === 'paused';
  return {
    level: scope.level,
    clock: scope.clock,
    dueAt: scope.dueAt,
    warningAt: scope.warningAt,
    consumed: scope.consumedFraction,
    elapsedMs: scope.elapsedWorkingMs,
    budgetMs: scope.committedBudget.workingMs,
    budgetHours: scope.committedBudget.hours,
    statutory: statutoryWords(scope.statutoryLimit),
    statutoryBasis: scope.statutoryLimit.basis,
    leftMs: open ? scope.committedBudget.workingMs - scope.elapsedWorkingMs : undefined,
    pausedMs: scope.pausedWorkingMs,
    countingRule: scope.countingRule,
  };
}

export function readSla(status: ApplicationStatus): SlaView | undefined {
  const sla = status.sla;
  if (!sla) return undefined;
  const steps = new Map<string, ClockView>();
  for (const step of status.steps) {
    const view = clock(step.sla);
    if (view) steps.set(step.id, view);
  }
  return {
    state: sla.state,
    countingRule: sla.countingRule,
    missingCalendarYear: sla.missingCalendarYear,
    error: sla.error,
    application: clock(sla.application),
    steps,
    pausedMs: sla.paused?.totalWorkingMs ?? 0,
    pausedNow: sla.paused?.now ?? false,
    pauses: sla.paused?.intervals ?? [],
    alerts: (sla.alerts ?? []).map((a) => ({
      scope: a.scope,
      level: a.level,
      at: a.at,
      thresholdAt: a.thresholdAt,
      dueAt: a.deadline,
      consumed: a.consumedFraction,
      deliveries: a.deliveries ?? [],
    })),
  };
}
