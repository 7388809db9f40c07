/**
 * What a step marked done offline (an operator's skip) must bring: whatever the steps after it file with. A license
 * issued at the counter gives the USCC that every later filing quotes; a name reserved there gives the reservation
 * the license filing quotes; seals filed there give the record ids the bank's signature card quotes. Without them the
 * next filing is refused by its agency (the bank's refusal rejected the application and undid everything). Plain code:
 * the workflow's skip validator runs it.
 */
import { isValidUscc } from './codes';
import type { StepId } from './steps';

/** The output field an operator's skip of `step` must carry, for the answer's issues. */
export const OFFLINE_OUTPUT_FIELDS: Partial<Record<StepId, string>> = {
  name: 'output.reservationId',
  license: 'output.uscc',
  seal: 'output.seals',
};

const nonEmptyText = (value: unknown): value is string =>
  typeof value === 'string' && value.trim().length > 0 && value.length <= 100;

/**
 * What `output` lacks to stand for `step` done offline, as the message of OUTPUT_REQUIRED it calls for
 * (domain/action-rejections.ts): `name`, `license`, `license-invalid` (a USCC that is not one) or `seal`; undefined
 * when it can (or the step needs nothing).
 */
export function offlineOutputProblem(step: StepId, output: Record<string, unknown> | undefined): string | undefined {
  switch (step) {
    case 'name':
      return nonEmptyText(output?.reservationId) ? undefined : 'name';
    case 'license': {
      const uscc = output?.uscc;
      if (isValidUscc(String(uscc ?? ''))) return undefined;
      return uscc === undefined ? 'license' : 'license-invalid';
    }
    case 'seal': {
      const seals = output?.seals;
      const ids = Array.isArray(seals) ? seals.map((s) => (s as { recordId?: unknown } | null)?.recordId) : [];
      return ids.length > 0 && ids.length <= 20 && ids.every(nonEmptyText) ? undefined : 'seal';
    }
    default:
      return undefined;
  }
}
