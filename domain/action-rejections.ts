/**
 * Why the workflow refuses an action on an application (a withdrawal, a review, an operator's retry or skip), in both
 * languages. The workflow's failure carries the English message and the parameters it was made from (its details);
 * the API answers in the caller's language (Accept-Language, zh-CN by default), as it does for the application's
 * field problems, so that a window clerk's console does not show English. Plain code: the workflow's update
 * validators use it.
 */
import type { Language } from './problems';
import { isStepId, stepDefinition, type StepId } from './steps';

/** Which message, and what it names. `message` picks one of a code's messages (e.g. what a skip's output lacks). */
export interface ActionRejectionParams {
  message?: string;
  step?: StepId;
  /** The application's status or ending (`completed`, `withdrawn`, …). */
  status?: string;
}

type Text = (params: ActionRejectionParams) => string;

const STATUS_ZH: Record<string, string> = {
  completed: '办结',
  rejected: '驳回',
  withdrawn: '撤回',
  aborted: '终止',
};

const stepZh = (step: StepId | undefined) => (step ? `“${stepDefinition(step).title.zh}”（${step}）` : '');

/** By code, then by `message` ('' for a code's only or first message). English as the workflow always wrote it. */
const MESSAGES: Record<string, Record<string, { zh: Text; en: Text }>> = {
  APPLICATION_FINISHED: {
    /** Said by the API of a workflow that is no longer running. */
    closed: {
      zh: () => '申请已结束，不能再办理任何操作',
      en: () => 'the application is finished; no action applies any more',
    },
    '': {
      zh: (p) => `申请已${STATUS_ZH[p.status ?? ''] ?? `结束（${p.status ?? ''}）`}，不能再办理此操作`,
      en: (p) => `the application is already ${p.status ?? ''}`,
    },
  },
  REASON_REQUIRED: { '': { zh: () => '请填写此操作的理由', en: () => 'give a reason for this action' } },
  BUSINESS_STARTED: {
    '': {
      zh: () => '各项手续均已办结：企业已开办，不能再撤回或终止（注销另有专门手续）',
      en: () =>
        'every procedure is done: the business is started and can no longer be withdrawn or aborted (its deregistration is a procedure of its own)',
    },
  },
  NO_REVIEW_PENDING: {
    '': { zh: () => '当前没有待决定的人工审核', en: () => 'no review is waiting for a decision' },
  },
  NAME_REFUSED: {
    '': {
      zh: () => '市场监管部门不予核准企业名称：请要求补正 company.name，或驳回申请',
      en: () => 'the market regulator refused the company name: request a correction of company.name, or reject',
    },
  },
  NO_CORRECTION_PENDING: { '': { zh: () => '当前没有待补正的要求', en: () => 'no correction was requested' } },
  APPLICATION_INVALID: {
    '': {
      zh: () => '补正后的申请不符合申请表的规范',
      en: () => 'the corrected application does not pass the application schema',
    },
  },
  STEP_NOT_IN_INCIDENT: {
    '': {
      zh: (p) => `步骤${stepZh(p.step)}既不在异常中，也未在等待部门决定`,
      en: (p) => `step ${p.step ?? ''} is neither in an incident nor waiting for its agency's decision`,
    },
    waiting: {
      zh: (p) => `步骤${stepZh(p.step)}正在等待部门决定，并不在异常中`,
      en: (p) => `step ${p.step ?? ''} waits for its agency's decision and is not in an incident`,
    },
  },
  OFFLINE_UNDO: {
    '': {
      zh: (p) => `步骤${stepZh(p.step)}是线下办理的：请在线下撤销，再标记为已撤销（跳过）`,
      en: (p) => `step ${p.step ?? ''} was done offline: undo it there, then mark it undone (skip)`,
    },
  },
  OUTPUT_REQUIRED: {
    name: {
      zh: () => '跳过名称申报需提供 output.reservationId：线下办理的名称申报记录号（设立登记需引用）',
      en: () =>
        'skipping the name needs output.reservationId: the reservation made offline, which the license filing quotes',
    },
    license: {
      zh: () => '跳过设立登记需提供 output.uscc：线下核发的统一社会信用代码',
      en: () => 'skipping the license needs output.uscc: the USCC issued offline',
    },
    'license-invalid': {
      zh: () => 'output.uscc 不是有效的统一社会信用代码（18位，末位为校验码）',
      en: () => 'output.uscc is not a valid unified social credit code (18 characters, the last a check character)',
    },
    seal: {
      zh: () => '跳过刻章备案需提供 output.seals：每枚线下备案印章的 [{ "recordId": … }]（银行预约开户需引用）',
      en: () =>
        'skipping the seal needs output.seals: [{ "recordId": … }] for each seal filed offline, which the bank quotes',
    },
  },
};

/** The message of a refused action in `language`; undefined for a code or message this catalogue does not know. */
export function actionRejectionMessage(
  code: string,
  params: ActionRejectionParams,
  language: Language,
): string | undefined {
  return MESSAGES[code]?.[params.message ?? '']?.[language](params);
}

/** The parameters a refused action's failure carries (its first detail), as far as they are well formed. */
export function actionRejectionParams(detail: unknown): ActionRejectionParams {
  if (!detail || typeof detail !== 'object') return {};
  const { message, step, status } = detail as Record<string, unknown>;
  return {
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof step === 'string' && isStepId(step) ? { step } : {}),
    ...(typeof status === 'string' ? { status } : {}),
  };
}
