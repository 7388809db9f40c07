/**
 * The messages of refused actions (domain/action-rejections.ts): every code the workflow or the API refuses with has
 * its message in both languages, the English one as the workflow's failure says it.
 */
import { actionRejectionMessage, actionRejectionParams } from '../domain/action-rejections';
import { ACTION_REJECTIONS, type ActionRejection } from '../workflows/messages';

/** Each message a code is refused with, by the parameters it is given (the workflow's and the API's calls). */
const USED: Array<[ActionRejection, Parameters<typeof actionRejectionMessage>[1]]> = [
  ['APPLICATION_FINISHED', { status: 'withdrawn' }],
  ['APPLICATION_FINISHED', { message: 'closed' }],
  ['REASON_REQUIRED', {}],
  ['BUSINESS_STARTED', {}],
  ['NO_REVIEW_PENDING', {}],
  ['NAME_REFUSED', {}],
  ['NO_CORRECTION_PENDING', {}],
  ['APPLICATION_INVALID', {}],
  ['STEP_NOT_IN_INCIDENT', { step: 'tax' }],
  ['STEP_NOT_IN_INCIDENT', { step: 'tax', message: 'waiting' }],
  ['OFFLINE_UNDO', { step: 'seal' }],
  ['OUTPUT_REQUIRED', { step: 'name', message: 'name' }],
  ['OUTPUT_REQUIRED', { step: 'license', message: 'license' }],
  ['OUTPUT_REQUIRED', { step: 'license', message: 'license-invalid' }],
  ['OUTPUT_REQUIRED', { step: 'seal', message: 'seal' }],
];

describe('refused actions: messages', () => {
  it.each(USED)('%s %j has a Chinese and an English message', (code, params) => {
    const zh = actionRejectionMessage(code, params, 'zh');
    const en = actionRejectionMessage(code, params, 'en');
    expect(zh).toMatch(/[\u4e00-\u9fff]/);
    expect(en).toMatch(/^[\x20-\x7e…]+$/);
    expect(zh).not.toContain('undefined');
    expect(en).not.toContain('undefined');
  });

  it('names the step and the status it is given, in each language', () => {
    expect(actionRejectionMessage('STEP_NOT_IN_INCIDENT', { step: 'tax' }, 'zh')).toBe(
      '步骤“涉税办理”（tax）既不在异常中，也不在等待部门决定',
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
