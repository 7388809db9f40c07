/**
 * The messages of refused actions (domain/action-rejections.ts): every code the workflow or the API refuses with has
 * its message in both languages, the English one as the workflow's failure says it.
 */
import { actionRejectionMessage, actionRejectionParams } from '../domain/action-rejections';
import { ACTION_REJECTIONS, type ActionRejection } from '../workflows/messages';

/**
 * Each message a code is refused with, by the parameters it is given (the workflow's and the API's calls), with its
 * English word for word as the workflow and the API wrote it before the catalogue (clients may match on it).
 */
const USED: Array<[ActionRejection, Parameters<typeof actionRejectionMessage>[1], string]> = [
  ['APPLICATION_FINISHED', { status: 'withdrawn' }, 'the application is already withdrawn'],
  ['APPLICATION_FINISHED', { message: 'closed' }, 'the application is finished; no action applies any more'],
  ['REASON_REQUIRED', {}, 'give a reason for this action'],
  [
    'BUSINESS_STARTED',
    {},
    'every procedure is done: the business is started and can no longer be withdrawn or aborted (its deregistration is a procedure of its own)',
  ],
  ['NO_REVIEW_PENDING', {}, 'no review is waiting for a decision'],
  [
    'NAME_REFUSED',
    {},
    'the market regulator refused the company name: request a correction of company.name, or reject',
  ],
  ['NO_CORRECTION_PENDING', {}, 'no correction was requested'],
  ['APPLICATION_INVALID', {}, 'the corrected application does not pass the application schema'],
  ['STEP_NOT_IN_INCIDENT', { step: 'tax' }, "step tax is neither in an incident nor waiting for its agency's decision"],
  [
    'STEP_NOT_IN_INCIDENT',
    { step: 'tax', message: 'waiting' },
    "step tax waits for its agency's decision and is not in an incident",
  ],
  ['OFFLINE_UNDO', { step: 'seal' }, 'step seal was done offline: undo it there, then mark it undone (skip)'],
  [
    'OUTPUT_REQUIRED',
    { step: 'name', message: 'name' },
    'skipping the name needs output.reservationId: the reservation made offline, which the license filing quotes',
  ],
  [
    'OUTPUT_REQUIRED',
    { step: 'license', message: 'license' },
    'skipping the license needs output.uscc: the USCC issued offline',
  ],
  [
    'OUTPUT_REQUIRED',
    { step: 'license', message: 'license-invalid' },
    'output.uscc is not a valid unified social credit code (18 characters, the last a check character)',
  ],
  [
    'OUTPUT_REQUIRED',
    { step: 'seal', message: 'seal' },
    'skipping the seal needs output.seals: [{ "recordId": … }] for each seal filed offline, which the bank quotes',
  ],
];

describe('refused actions: messages', () => {
  it.each(USED)('%s %j: Chinese, and the English as it always was', (code, params, english) => {
    expect(actionRejectionMessage(code, params, 'en')).toBe(english);
    const zh = actionRejectionMessage(code, params, 'zh');
    expect(zh).toMatch(/[\u4e00-\u9fff]/);
    expect(zh).not.toContain('undefined');
  });

  it('names the step and the status it is given, in each language', () => {
    expect(actionRejectionMessage('STEP_NOT_IN_INCIDENT', { step: 'tax' }, 'zh')).toBe(
      '步骤“涉税办理”（tax）既不在异常中，也未在等待部门决定',
    );
    expect(actionRejectionMessage('STEP_NOT_IN_INCIDENT', { step: 'tax' }, 'en')).toBe(
      "step tax is neither in an incident nor waiting for its agency's decision",
    );
    expect(actionRejectionMessage('APPLICATION_FINISHED', { status: 'withdrawn' }, 'zh')).toBe(
      '申请已撤回，不能再办理此操作',
    );
    expect(actionRejectionMessage('APPLICATION_FINISHED', { status: 'suspended' }, 'zh')).toBe(
      '申请已结束（suspended），不能再办理此操作',
    );
  });

  it('every code the API maps to an HTTP answer is one the messages know, except those no code refuses with', () => {
    // ARCHIVE_NOT_OFFLINE comes only from a worker of an earlier version while a deployment rolls, and no code raises
    // NAME_CHANGE_NOT_ALLOWED today: the answer then keeps the failure's own message.
    const known = [...new Set(USED.map(([code]) => code))].sort();
    const mapped = Object.keys(ACTION_REJECTIONS)
      .filter((code) => code !== 'ARCHIVE_NOT_OFFLINE' && code !== 'NAME_CHANGE_NOT_ALLOWED')
      .sort();
    expect(known).toEqual(mapped);
  });

  it('takes from a failure only well-formed parameters, and unknown messages stay unknown', () => {
    expect(actionRejectionParams({ step: 'tax', status: 'completed', message: 'waiting', extra: 1 })).toEqual({
      step: 'tax',
      status: 'completed',
      message: 'waiting',
    });
    expect(actionRejectionParams({ step: 'no-such-step', status: 7 })).toEqual({});
    expect(actionRejectionParams('text')).toEqual({});
    expect(actionRejectionMessage('STEP_NOT_IN_INCIDENT', { message: 'no-such-message' }, 'zh')).toBeUndefined();
    expect(actionRejectionMessage('NO_SUCH_CODE', {}, 'en')).toBeUndefined();
  });
});
