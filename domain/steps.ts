/**
 * The business-startup chain as data: a dependency graph of steps. The workflow derives its
 * schedule (what may run in parallel) and its compensation order from this table alone, so adding
 * a step is one entry here plus its request builder.
 */
export const STEP_IDS = ['name', 'license', 'seal', 'tax', 'social', 'fund', 'bank', 'archive'] as const;
export type StepId = (typeof STEP_IDS)[number];

export const AGENCY_IDS = ['market', 'police', 'tax', 'hrss', 'fund', 'bank'] as const;
export type AgencyId = (typeof AGENCY_IDS)[number];

export interface StepDefinition {
  id: StepId;
  /** The agency that decides the step; `null` for internal steps that Kaiban does itself. */
  agency: AgencyId | null;
  /** The agency's procedure name in its API. */
  procedure: string;
  needs: readonly StepId[];
  title: { zh: string; en: string };
  /** What undoing the step means at the agency; `null` when there is nothing to undo. */
  compensation: { zh: string; en: string } | null;
}

export const STEPS: readonly StepDefinition[] = [
  {
    id: 'name',
    agency: 'market',
    procedure: 'name_reservation',
    needs: [],
    title: { zh: '名称自主申报', en: 'Name reservation' },
    compensation: { zh: '释放名称', en: 'release the reservation' },
  },
  {
    id: 'license',
    agency: 'market',
    procedure: 'establishment_registration',
    needs: ['name'],
    title: { zh: '设立登记、营业执照', en: 'Establishment registration and business license' },
    compensation: { zh: '撤销登记', en: 'revoke the registration' },
  },
  {
    id: 'seal',
    agency: 'police',
    procedure: 'seal_filing',
    needs: ['license'],
    title: { zh: '印章刻制备案', en: 'Seal carving filing' },
    compensation: { zh: '注销印章备案', en: 'cancel the seal filing' },
  },
  {
    id: 'tax',
    agency: 'tax',
    procedure: 'taxpayer_registration',
    needs: ['license'],
    title: { zh: '涉税办理', en: 'Tax registration and invoices' },
    compensation: { zh: '注销税务登记', en: 'cancel the tax registration' },
  },
  {
    id: 'social',
    agency: 'hrss',
    procedure: 'social_insurance_registration',
    needs: ['license'],
    title: { zh: '社保登记', en: 'Social insurance registration' },
    compensation: { zh: '注销社保登记', en: 'cancel the registration' },
  },
  {
    id: 'fund',
    agency: 'fund',
    procedure: 'fund_account_opening',
    needs: ['license'],
    title: { zh: '公积金开户', en: 'Provident fund account' },
    compensation: { zh: '销户', en: 'close the account' },
  },
  {
    id: 'bank',
    agency: 'bank',
    procedure: 'account_appointment',
    needs: ['license', 'seal'],
    title: { zh: '银行预约开户', en: 'Bank account appointment' },
    compensation: { zh: '取消预约', en: 'cancel the appointment' },
  },
  {
    id: 'archive',
    agency: null,
    procedure: 'dossier_archive',
    needs: ['name', 'license', 'seal', 'tax', 'social', 'fund', 'bank'],
    title: { zh: '电子归档', en: 'Electronic dossier' },
    compensation: null,
  },
];

export function isStepId(value: string): value is StepId {
  return (STEP_IDS as readonly string[]).includes(value);
}

export function stepDefinition(id: StepId): StepDefinition {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw new RangeError(`unknown step ${id}`);
  return step;
}

/** Steps whose prerequisites are all in `done` and that are not yet started. */
export function readySteps(done: ReadonlySet<StepId>, started: ReadonlySet<StepId>): StepId[] {
  return STEPS.filter((s) => !started.has(s.id) && s.needs.every((n) => done.has(n))).map((s) => s.id);
}

/** Steps that depend directly on `id`. */
export function dependentsOf(id: StepId): StepId[] {
  return STEPS.filter((s) => s.needs.includes(id)).map((s) => s.id);
}

/**
 * Validates the graph: known ids, no self or forward cycles. Returns a topological order.
 * Called by the unit tests and at worker start, so a bad edit to the table fails fast.
 */
export function topologicalOrder(steps: readonly StepDefinition[] = STEPS): StepId[] {
  const order: StepId[] = [];
  const state = new Map<StepId, 'visiting' | 'done'>();
  const byId = new Map(steps.map((s) => [s.id, s]));
  const visit = (id: StepId, trail: StepId[]) => {
    const mark = state.get(id);
    if (mark === 'done') return;
    if (mark === 'visiting') throw new Error(`step graph has a cycle: ${[...trail, id].join(' → ')}`);
    const step = byId.get(id);
    if (!step) throw new Error(`step graph names an unknown step: ${id}`);
    state.set(id, 'visiting');
    for (const need of step.needs) visit(need, [...trail, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const s of steps) visit(s.id, []);
  return order;
}
