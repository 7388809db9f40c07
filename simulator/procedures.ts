import { z } from 'zod';
import { buildUscc, isValidUscc, USCC_CHARSET } from '../domain/codes';
import type { Procedure, SimulatorConfig } from './config';
import type { SeededRandom } from './random';
import type { AgencyRecord } from './store';

export interface Rejection {
  code: string;
  message_zh: string;
  message_en: string;
}

/** What the e-license page of a registered company shows (no personal data). */
export interface ELicense {
  uscc: string;
  licenseNumber: string;
  name: string;
  district: string;
  entityType: string;
  registeredCapitalCny: number;
  address: string;
  businessScope: string | string[];
  registeredAt: string;
}

export type Decision =
  | { status: 'approved'; result: Record<string, unknown>; eLicense?: ELicense }
  | { status: 'rejected'; reason: Rejection };

/** What a decision may read and draw from; ids come from `unique`, never from arrival order. */
export interface DecisionContext {
  config: SimulatorConfig;
  random: SeededRandom;
  /** Draw parts naming this request: agency and idempotency key. */
  drawParts: readonly string[];
  applicationId: string;
  decidedAt: Date;
  /** The first of draw(0), draw(1), … not yet issued in `space`, then marks it issued. */
  unique(space: string, draw: (attempt: number) => string): string;
  /** Whether a live approved name reservation of another application holds `name`. */
  nameHeldByOtherApplication(name: string, applicationId: string): boolean;
  /**
   * The records this simulator issued that a filing quotes: the name reservation of a registration, the registration
   * of a USCC, the seal filing of a seal record. Undefined for an id it never issued (made at a counter offline, which
   * the simulator cannot see: taken on trust).
   */
  issued: {
    reservation(reservationId: string): AgencyRecord | undefined;
    registration(uscc: string): AgencyRecord | undefined;
    sealFiling(recordId: string): AgencyRecord | undefined;
  };
}

const district = z.string().regex(/^\d{6}$/, 'a district is a 6-digit administrative division code');
const nonEmpty = z.string().trim().min(1).max(500);
const headcount = z.union([z.number().int().min(0), z.array(z.unknown())]);
const isoDate = z.iso.date();

const PAYLOADS = {
  name_reservation: z.object({ companyName: nonEmpty.max(100), district, entityType: nonEmpty }),
  establishment_registration: z.object({
    reservationId: nonEmpty,
    company: z.object({
      name: nonEmpty.max(100),
      district,
      entityType: nonEmpty,
      registeredCapitalCny: z.number().min(0),
      address: nonEmpty,
      businessScope: z.union([nonEmpty.max(5000), z.array(nonEmpty)]),
    }),
    people: z.record(z.string(), z.unknown()),
  }),
  seal_filing: z.object({ uscc: z.string(), seals: z.array(nonEmpty).min(1).max(20), electronicSeals: z.boolean() }),
  taxpayer_registration: z.object({ uscc: z.string(), invoiceTypes: z.array(nonEmpty).max(20), taxUkey: z.boolean() }),
  social_insurance_registration: z.object({ uscc: z.string(), insuredEmployees: headcount }),
  fund_account_opening: z.object({ uscc: z.string(), depositRatePercent: z.number(), contributors: headcount }),
  account_appointment: z.object({
    uscc: z.string(),
    bank: nonEmpty,
    branch: nonEmpty,
    preferredDate: isoDate.nullable().default(null),
    sealRecordIds: z.array(z.string()),
  }),
} satisfies Record<Procedure, z.ZodType>;

/**
 * What each procedure's decision reads: the filing without its personal data (the people of an establishment
 * registration, the employees and contributors of social insurance and the provident fund), so that a filing
 * still undecided can be kept on disk (store.ts) and decided after a restart.
 */
const DECISION_INPUTS = {
  ...PAYLOADS,
  establishment_registration: PAYLOADS.establishment_registration.omit({ people: true }),
  social_insurance_registration: PAYLOADS.social_insurance_registration.omit({ insuredEmployees: true }),
  fund_account_opening: PAYLOADS.fund_account_opening.omit({ contributors: true }),
} satisfies Record<Procedure, z.ZodType>;

type DecisionPayload<P extends Procedure> = z.output<(typeof DECISION_INPUTS)[P]>;
type Rule<P extends Procedure> = (payload: DecisionPayload<P>, context: DecisionContext) => Decision;

/** A validated filing's decision input: the procedure and what its rule reads (nothing personal). */
export type DecisionInput = { [P in Procedure]: { procedure: P; payload: DecisionPayload<P> } }[Procedure];

const reject = (code: string, message_zh: string, message_en: string): Decision => ({
  status: 'rejected',
  reason: { code, message_zh, message_en },
});

const usccInvalid = () => reject('USCC_INVALID', '统一社会信用代码无效', 'The unified social credit code is invalid');

/**
 * Why a filing quoting `uscc` is refused: not a valid code, or the registration that issued it no longer in force
 * (revoked). A valid code this simulator never issued is taken on trust (registered at a counter).
 */
function usccProblem(uscc: string, ctx: DecisionContext): Decision | undefined {
  if (!isValidUscc(uscc)) return usccInvalid();
  const registration = ctx.issued.registration(uscc);
  if (registration && registration.status !== 'approved') {
    return reject(
      'REGISTRATION_NOT_IN_FORCE',
      `统一社会信用代码${uscc}对应的设立登记已撤销`,
      `The registration that issued ${uscc} has been revoked`,
    );
  }
  if (ofAnotherApplication(registration, ctx)) {
    return reject(
      'REGISTRATION_OF_ANOTHER_APPLICATION',
      `统一社会信用代码${uscc}是为另一申请登记的企业所核发`,
      `${uscc} was issued to the company of another application`,
    );
  }
  return undefined;
}

/**
 * A record this simulator issued for another application than the filing's: one application's filing may quote only
 * its own reservation, registration and seals (a mistyped id of an operator's skip, or someone else's).
 */
function ofAnotherApplication(record: AgencyRecord | undefined, ctx: DecisionContext): boolean {
  return record !== undefined && record.reference.applicationId !== ctx.applicationId;
}

const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** The calendar date (YYYY-MM-DD) in Asia/Shanghai (UTC+8, no daylight saving) `days` after `instant`. */
function shanghaiDate(instant: Date, days = 0): string {
  return new Date(instant.getTime() + SHANGHAI_OFFSET_MS + days * DAY_MS).toISOString().slice(0, 10);
}

/** ISO 7064 MOD 11,10 check digit, as in the 15-digit business registration number (GS15-2006). */
function mod11_10CheckDigit(digits: string): string {
  let product = 10;
  for (const d of digits) {
    const sum = (product + Number(d)) % 10 || 10;
    product = (sum * 2) % 11;
  }
  return String((11 - product) % 10);
}

const APPOINTMENT_TIMES = [
  '09:00',
  '09:30',
  '10:00',
  '10:30',
  '11:00',
  '11:30',
  '14:00',
  '14:30',
  '15:00',
  '15:30',
  '16:00',
  '16:30',
];
const ALPHANUMERIC = '0123456789ABCDEFGHJKLMNPQRSTUVWXYZ';

const RULES: { [P in Procedure]: Rule<P> } = {
  name_reservation(payload, ctx) {
    const name = payload.companyName;
    const word = ctx.config.forbiddenNameWords.find((w) => name.includes(w));
    if (word) {
      return reject(
        'NAME_FORBIDDEN_WORD',
        `企业名称含有禁用字词“${word}”`,
        `The name contains the forbidden word "${word}"`,
      );
    }
    if (ctx.config.takenNames.includes(name) || ctx.nameHeldByOtherApplication(name, ctx.applicationId)) {
      return reject('NAME_TAKEN', `企业名称“${name}”已被占用`, `The name "${name}" is already taken`);
    }
    const reservationId = ctx.unique(
      'reservation',
      (n) => 'NR' + payload.district + draw(ctx).digits(10, 'reservation', n),
    );
    return {
      status: 'approved',
      result: { reservationId, reservedName: name, validUntil: shanghaiDate(ctx.decidedAt, 30) },
    };
  },

  establishment_registration(payload, ctx) {
    const { company } = payload;
    const reservation = ctx.issued.reservation(payload.reservationId);
    if (reservation && reservation.status !== 'approved') {
      return reject(
        'RESERVATION_NOT_HELD',
        `名称申报记录${payload.reservationId}已释放，不再保留名称`,
        `The name reservation ${payload.reservationId} has been released`,
      );
    }
    if (ofAnotherApplication(reservation, ctx)) {
      return reject(
        'RESERVATION_OF_ANOTHER_APPLICATION',
        `名称申报记录${payload.reservationId}属于另一申请`,
        `The name reservation ${payload.reservationId} was made for another application`,
      );
    }
    const reservedName = reservation?.result?.reservedName;
    if (reservedName !== undefined && reservedName !== company.name) {
      return reject(
        'RESERVATION_NAME_MISMATCH',
        `名称申报记录${payload.reservationId}保留的名称为“${String(reservedName)}”，与登记名称“${company.name}”不一致`,
        `The name reservation ${payload.reservationId} holds "${String(reservedName)}", not "${company.name}"`,
      );
    }
    const word = ctx.config.forbiddenNameWords.find((w) => company.name.includes(w));
    if (word) {
      return reject(
        'REGISTRATION_FORBIDDEN_WORD',
        `企业名称含有禁用字词“${word}”，不予登记`,
        `Registration refused: the name contains the forbidden word "${word}"`,
      );
    }
    const uscc = ctx.unique('uscc', (n) => buildUscc(company.district, draw(ctx).chars(USCC_CHARSET, 8, 'uscc', n)));
    const licenseNumber = ctx.unique('license', (n) => {
      const body = company.district + draw(ctx).digits(8, 'license', n);
      return body + mod11_10CheckDigit(body);
    });
    const registeredAt = ctx.decidedAt.toISOString();
    const eLicenseUrl = `${ctx.config.publicUrl ?? ''}/e-license/${uscc}`;
    return {
      status: 'approved',
      result: { uscc, licenseNumber, eLicenseUrl, registeredAt },
      eLicense: {
        uscc,
        licenseNumber,
        name: company.name,
        district: company.district,
        entityType: company.entityType,
        registeredCapitalCny: company.registeredCapitalCny,
        address: company.address,
        businessScope: company.businessScope,
        registeredAt,
      },
    };
  },

  seal_filing(payload, ctx) {
    const problem = usccProblem(payload.uscc, ctx);
    if (problem) return problem;
    const region = payload.uscc.slice(2, 8);
    const seals = payload.seals.map((type, i) => ({
      type,
      recordId: ctx.unique('seal', (n) => 'GA' + region + draw(ctx).digits(10, 'seal', i, n)),
    }));
    const electronicSealIds = payload.electronicSeals
      ? payload.seals.map((_, i) =>
          ctx.unique('e-seal', (n) => 'ES' + draw(ctx).chars(ALPHANUMERIC, 16, 'e-seal', i, n)),
        )
      : [];
    return { status: 'approved', result: { seals, electronicSealIds } };
  },

  taxpayer_registration(payload, ctx) {
    const problem = usccProblem(payload.uscc, ctx);
    if (problem) return problem;
    const taxRecordId = ctx.unique('tax', (n) => 'SW' + payload.uscc.slice(2, 8) + draw(ctx).digits(12, 'tax', n));
    return {
      status: 'approved',
      result: {
        taxpayerId: payload.uscc,
        taxRecordId,
        invoiceApproval: { types: payload.invoiceTypes, monthlyQuota: 25, maxAmountCny: 100_000 },
        taxUkeyIssued: payload.taxUkey,
      },
    };
  },

  social_insurance_registration(payload, ctx) {
    const problem = usccProblem(payload.uscc, ctx);
    if (problem) return problem;
    const number = ctx.unique('social', (n) => payload.uscc.slice(2, 8) + draw(ctx).digits(10, 'social', n));
    return { status: 'approved', result: { employerSocialSecurityNumber: number } };
  },

  fund_account_opening(payload, ctx) {
    const problem = usccProblem(payload.uscc, ctx);
    if (problem) return problem;
    const rate = payload.depositRatePercent;
    if (rate < 5 || rate > 12) {
      return reject(
        'DEPOSIT_RATE_OUT_OF_RANGE',
        `缴存比例${rate}%超出5%至12%的范围`,
        `Deposit rate ${rate}% is outside 5% to 12%`,
      );
    }
    const account = ctx.unique('fund', (n) => payload.uscc.slice(2, 8) + draw(ctx).digits(12, 'fund', n));
    return { status: 'approved', result: { fundAccountNumber: account } };
  },

  account_appointment(payload, ctx) {
    const problem = usccProblem(payload.uscc, ctx);
    if (problem) return problem;
    if (payload.sealRecordIds.length === 0) {
      return reject(
        'SEALS_MISSING',
        '未提供印章备案记录，无法预约开户（印鉴卡需要印章）',
        'No seal record ids: the signature card needs the filed seals',
      );
    }
    const cancelled = payload.sealRecordIds.find((id) => {
      const filing = ctx.issued.sealFiling(id);
      return filing !== undefined && filing.status !== 'approved';
    });
    if (cancelled !== undefined) {
      return reject(
        'SEAL_RECORD_NOT_IN_FORCE',
        `印章备案记录${cancelled}已注销，不能用于印鉴卡`,
        `The seal record ${cancelled} has been cancelled: the signature card cannot use it`,
      );
    }
    const foreign = payload.sealRecordIds.find((id) => ofAnotherApplication(ctx.issued.sealFiling(id), ctx));
    if (foreign !== undefined) {
      return reject(
        'SEAL_RECORD_OF_ANOTHER_APPLICATION',
        `印章备案记录${foreign}属于另一申请的企业`,
        `The seal record ${foreign} belongs to the company of another application`,
      );
    }
    const appointmentRef = ctx.unique('appointment', (n) => 'YY' + draw(ctx).chars(ALPHANUMERIC, 12, 'appointment', n));
    const time = APPOINTMENT_TIMES[draw(ctx).index(APPOINTMENT_TIMES.length, 'slot')]!;
    return {
      status: 'approved',
      result: {
        appointmentRef,
        bank: payload.bank,
        branch: payload.branch,
        slot: { date: payload.preferredDate ?? shanghaiDate(ctx.decidedAt, 1), time },
      },
    };
  },
};

/** Random draws scoped to the request being decided. */
function draw(ctx: DecisionContext) {
  const { random, drawParts } = ctx;
  return {
    digits: (length: number, ...parts: (string | number)[]) => random.digits(length, ...drawParts, ...parts),
    chars: (charset: string, length: number, ...parts: (string | number)[]) =>
      random.chars(charset, length, ...drawParts, ...parts),
    index: (size: number, ...parts: (string | number)[]) => random.index(size, ...drawParts, ...parts),
  };
}

/** Validates a filing's payload; on success returns what its decision will read when the agency decides. */
export function prepareFiling(
  procedure: Procedure,
  payload: unknown,
): { ok: true; input: DecisionInput } | { ok: false; issues: z.core.$ZodIssue[] } {
  const parsed = PAYLOADS[procedure].safeParse(payload);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues };
  // Object schemas drop the keys they do not name: what is left is what the rule reads.
  const decisionPayload = DECISION_INPUTS[procedure].parse(parsed.data);
  return { ok: true, input: { procedure, payload: decisionPayload } as DecisionInput };
}

/** The agency's decision on a filing (`input` from prepareFiling, possibly read back from disk). */
export function decideFiling(input: DecisionInput, context: DecisionContext): Decision {
  // `input` pairs a procedure with its own payload's type (DecisionInput), which the lookup cannot see.
  const rule = RULES[input.procedure] as (payload: DecisionInput['payload'], context: DecisionContext) => Decision;
  return rule(input.payload, context);
}

export function forcedRejection(): Decision {
  return reject('AGENCY_REJECTED', '经办机构不予办理', 'The agency rejected the request');
}

/** What an undo of an approved procedure does, recorded on the revoked record. */
export const COMPENSATIONS: Record<Procedure, string> = {
  name_reservation: 'name_released',
  establishment_registration: 'registration_revoked',
  seal_filing: 'seal_filing_cancelled',
  taxpayer_registration: 'tax_registration_cancelled',
  social_insurance_registration: 'social_registration_cancelled',
  fund_account_opening: 'fund_account_closed',
  account_appointment: 'appointment_cancelled',
};
