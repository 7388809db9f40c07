/**
 * The application a founder submits: one zod schema shared by the API (validation at the edge),
 * the workflow types and the generated OpenAPI document.
 */
import { z } from 'zod';
import { shanghaiIsoDate } from './calendar';
import { isValidIdNumber } from './codes';
import { isNanchangDistrict, NANCHANG_DISTRICTS } from './districts';
import { withinFields } from './changes';
import { problem, problemsFromZodError, type Language, type Problem } from './problems';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Stable codes for the rules this schema enforces beyond types; messages live in ./problems. */
function rule(code: string) {
  return { params: { code } };
}

const personName = z
  .string()
  .trim()
  .min(2)
  .max(30)
  .meta({ description: 'Full name as on the ID card', example: '张三' });

/** Full-width digits and Latin letters (from a Chinese input method) as their ASCII forms. */
function halfWidth(text: string): string {
  return text.replace(/[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\uFF0B\uFF0D]/g, (c) =>
    String.fromCharCode(c.charCodeAt(0) - 0xfee0),
  );
}

/**
 * What people put between the groups of a number: spaces (any width, tabs) and dashes. Not JavaScript's `\s`, which
 * also takes invisible characters (a byte-order mark, a line separator): a number holding one is refused, not mended.
 */
const GROUP_SEPARATORS = /[\p{Zs}\t\p{Pd}]+/gu;

/**
 * An ID number as people type it: spaces or dashes anywhere (grouped, or around it), full-width characters, a
 * lower-case x. The number itself is not changed.
 */
export function normalizeIdNumber(text: string): string {
  return halfWidth(text).replace(GROUP_SEPARATORS, '').toUpperCase();
}

/**
 * A mobile number as people type it: grouped by spaces or dashes, full-width, with the country code (+86, 0086).
 * Anything else is left as sent, for the rule to refuse.
 */
export function normalizeMobile(text: string): string {
  const compact = halfWidth(text).replace(GROUP_SEPARATORS, '');
  const national = /^(?:\+86|0086)(1\d{10})$/.exec(compact);
  return national ? national[1]! : compact;
}

/** Today's date in Asia/Shanghai as YYYYMMDD, like an ID number's birth date. */
const shanghaiToday = (): string => shanghaiIsoDate(Date.now()).replaceAll('-', '');

/**
 * One problem per number, the first that applies: its format, its check character, a birth date to come (the API's
 * clock: the workflow never parses an application). Never an abort, which would hold back the object's own rules
 * (contributions, duplicates), and every problem is listed.
 */
const idNumber = z
  .string()
  .overwrite(normalizeIdNumber)
  .superRefine((v, ctx) => {
    const problem = !/^\d{17}[\dX]$/.test(v)
      ? 'ID_NUMBER_FORMAT'
      : !isValidIdNumber(v)
        ? 'ID_NUMBER_CHECK'
        : v.slice(6, 14) > shanghaiToday()
          ? 'ID_NUMBER_BIRTH_FUTURE'
          : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: 'Invalid input', ...rule(problem) });
  })
  .meta({
    description:
      'Resident identity card number (GB 11643-1999, 18 characters); spaces, full-width characters and a lower-case x are taken as the number',
    example: '360102199003071236',
  });

/** A mainland mobile number: 11 digits, 1 then 3–9 (the applicant's, and whom the message platform can reach). */
export const MOBILE_NUMBER = /^1[3-9]\d{9}$/;

const mobilePhone = z
  .string()
  .overwrite(normalizeMobile)
  .refine((v) => MOBILE_NUMBER.test(v), rule('PHONE_INVALID'))
  .meta({
    description: 'Mainland mobile number, 11 digits (spaces, dashes and +86 or 0086 before it are taken out)',
    example: '13807910001',
  });

const yuan = z.number().int().positive().max(100_000_000_000);

export const ENTITY_TYPES = [
  'limited_liability_company',
  'one_person_limited_liability_company',
  'sole_proprietorship',
  'partnership',
] as const;
export const SEAL_TYPES = ['official', 'finance', 'invoice', 'contract', 'legal_representative'] as const;
export const INVOICE_TYPES = [
  'vat_general_electronic',
  'vat_special_electronic',
  'vat_general_paper',
  'vat_special_paper',
] as const;
export const BANKS = ['ICBC', 'CCB', 'ABC', 'BOC', 'BOCOM', 'PSBC', 'CMB', 'CIB', 'JXBANK', 'JJCCB'] as const;

export const applicantSchema = z.strictObject({
  name: personName,
  idNumber,
  phone: mobilePhone,
  email: z.email().max(254).optional(),
});

export const companySchema = z.strictObject({
  name: z.string().trim().min(4).max(60).meta({ example: '南昌赣江云数科技有限公司' }),
  entityType: z.enum(ENTITY_TYPES),
  registeredCapitalCny: yuan.meta({ description: 'Registered capital in yuan' }),
  district: z
    .string()
    .refine(isNanchangDistrict, rule('DISTRICT_UNKNOWN'))
    .meta({ description: 'County-level division code of Nanchang', enum: Object.keys(NANCHANG_DISTRICTS) }),
  address: z.string().trim().min(5).max(200),
  businessScope: z
    .array(z.string().trim().min(1).max(100))
    .refine((items) => items.length > 0, rule('SCOPE_EMPTY'))
    .max(50),
  employees: z.number().int().min(0).max(100_000),
});

export const peopleSchema = z.strictObject({
  legalRepresentative: z.strictObject({ name: personName, idNumber, phone: mobilePhone }),
  shareholders: z
    .array(z.strictObject({ name: personName, idNumber, contributionCny: yuan }))
    .refine((items) => items.length > 0, rule('SHAREHOLDERS_EMPTY'))
    .max(50),
  // None in a sole proprietorship or a partnership; a small company's shareholders may agree to have none (Company Law
  // 2023 art. 83), which the review checks (SUPERVISOR_ABSENT).
  // null as absent: what a correction sends to remove one (a field left out of a correction keeps its value).
  supervisor: z.strictObject({ name: personName, idNumber }).nullable().optional(),
  financeOfficer: z.strictObject({ name: personName, idNumber, phone: mobilePhone }),
});

/**
 * How far ahead a bank appointment may be asked for, in days from today (Asia/Shanghai): the account is opened in the
 * days after the license, and a date years ahead is a typing slip the bank would hold a slot for.
 */
export const BANK_DATE_HORIZON_DAYS = 90;

export const servicesSchema = z.strictObject({
  seals: z
    .array(z.enum(SEAL_TYPES))
    .refine((items) => items.length > 0, rule('SEALS_EMPTY'))
    .max(SEAL_TYPES.length),
  electronicSeals: z.boolean(),
  tax: z.strictObject({
    invoiceTypes: z.array(z.enum(INVOICE_TYPES)).max(INVOICE_TYPES.length),
    taxUkey: z.boolean(),
  }),
  socialSecurity: z.strictObject({ insuredEmployees: z.number().int().min(0).max(100_000) }),
  providentFund: z.strictObject({
    depositRatePercent: z.number().min(5).max(12),
    contributors: z.number().int().min(0).max(100_000),
  }),
  bank: z.strictObject({
    bank: z.enum(BANKS),
    branch: z.string().trim().min(2).max(60),
    preferredDate: z.iso
      .date()
      .nullable()
      .describe(
        `The appointment's day (Asia/Shanghai), from today to ${BANK_DATE_HORIZON_DAYS} days ahead (DATE_IN_PAST, DATE_TOO_FAR); null: the bank chooses`,
      ),
  }),
  licenseDelivery: z.enum(['electronic', 'mail', 'pickup']),
});

export const applicationSchema = z
  .strictObject({
    applicant: applicantSchema,
    company: companySchema,
    people: peopleSchema,
    services: servicesSchema,
  })
  .superRefine(
    (app, ctx) => {
      // Also runs when unrelated fields failed (see `when`), so guard the fields it reads.
      const shareholders: unknown = app.people?.shareholders;
      if (!Array.isArray(shareholders) || !yuan.safeParse(app.company?.registeredCapitalCny).success) return;
      if (!shareholders.every((s) => isObject(s) && typeof s.contributionCny === 'number')) return;
      const contributed = app.people.shareholders.reduce((sum, s) => sum + s.contributionCny, 0);
      if (contributed !== app.company.registeredCapitalCny) {
        ctx.addIssue({
          code: 'custom',
          path: ['people', 'shareholders'],
          message: `contributions sum to ${contributed}, registered capital is ${app.company.registeredCapitalCny}`,
          params: { code: 'CONTRIBUTIONS_MISMATCH', contributed, registeredCapital: app.company.registeredCapitalCny },
        });
      }
      const seen = new Set<string>();
      app.people.shareholders.forEach((s, i) => {
        if (typeof s.idNumber !== 'string') return; // missing: told on its own
        if (seen.has(s.idNumber)) {
          ctx.addIssue({
            code: 'custom',
            path: ['people', 'shareholders', i, 'idNumber'],
            message: 'duplicate shareholder',
            params: { code: 'SHAREHOLDER_DUPLICATE' },
          });
        }
        seen.add(s.idNumber);
      });
    },
    { when: (payload) => isObject(payload.value) },
  )
  .meta({ id: 'Application', description: 'One application for the start of a new business' });

export type Application = z.infer<typeof applicationSchema>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Parses an application, listing every problem (field path, stable code, message) on failure. */
export function parseApplication(input: unknown, lang: Language = 'zh'): ParseResult<Application> {
  const result = applicationSchema.safeParse(input, { reportInput: true });
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, problems: problemsFromZodError(result.error, lang) };
}

/**
 * Rules on what a caller sends now, beside the schema (which also reads materials stored before these rules, and
 * replays of earlier requests): free text holding a masked number (what an answer shows of an address with a contact
 * mobile, sent back by a client that edits what it read), an item listed twice (two official seals would be two
 * filings), a bank date already past (the applicant's clock) or beyond BANK_DATE_HORIZON_DAYS. `changed`: only
 * problems on these paths (a correction is held to what it sends, not to the materials as they stood). Reads any
 * value: problems of shape are the schema's.
 */
export function inputProblems(value: unknown, lang: Language, changed?: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const found = (path: (string | number)[], code: string, params: Record<string, unknown> = {}) => {
    const told = problem(path, code, lang, params);
    if (!changed || withinFields(told.path, changed)) problems.push(told);
  };
  const at = (path: string[]): unknown =>
    path.reduce<unknown>((node, key) => (isObject(node) ? (node as Record<string, unknown>)[key] : undefined), value);
  for (const path of [
    ['company', 'address'],
    ['services', 'bank', 'branch'],
  ]) {
    const text = at(path);
    if (typeof text === 'string' && text.includes('****')) found(path, 'MASKED_VALUE');
  }
  for (const path of [
    ['company', 'businessScope'],
    ['services', 'seals'],
    ['services', 'tax', 'invoiceTypes'],
  ]) {
    const items = at(path);
    if (!Array.isArray(items)) continue;
    // The schema's caps are at most 50 items: a longer raw list is the schema's to refuse, not this loop's to scan.
    const seen = new Set<unknown>();
    items.slice(0, 100).forEach((item: unknown, i) => {
      const value = typeof item === 'string' ? item.trim() : item;
      if (seen.has(value)) found([...path, i], 'ITEM_DUPLICATE');
      seen.add(value);
    });
  }
  const date = at(['services', 'bank', 'preferredDate']);
  // A day that does not exist (30 February) is the schema's to refuse, not also a past or distant one.
  if (typeof date === 'string' && isRealDate(date)) {
    const now = Date.now();
    const today = shanghaiIsoDate(now);
    const latest = shanghaiIsoDate(now + BANK_DATE_HORIZON_DAYS * 86_400_000);
    if (date < today) found(['services', 'bank', 'preferredDate'], 'DATE_IN_PAST', { today });
    if (date > latest)
      found(['services', 'bank', 'preferredDate'], 'DATE_TOO_FAR', { latest, days: BANK_DATE_HORIZON_DAYS });
  }
  for (const path of personNamePaths(at)) {
    const name = at(path.map(String));
    if (typeof name === 'string' && !PERSON_NAME.test(name.trim()) && name.trim() !== '')
      found(path, 'NAME_CHARACTERS');
  }
  for (const path of freeTextPaths(at)) {
    const text = at(path.map(String));
    if (typeof text === 'string' && NOT_TEXT.test(text)) found(path, 'TEXT_CHARACTERS');
  }
  const entity = at(['company', 'entityType']);
  const owners = at(['people', 'shareholders']);
  const rule = typeof entity === 'string' ? OWNERS[entity] : undefined;
  if (rule && Array.isArray(owners) && owners.length > 0) {
    const wrong = rule.exactly !== undefined ? owners.length !== rule.exactly : owners.length < rule.atLeast!;
    // Told when either side of the rule is sent (a correction of the entity type, or of the shareholders).
    const sent = !changed || ['company.entityType', 'people.shareholders'].some((p) => withinFields(p, changed));
    if (wrong && sent) problems.push(problem(['people', 'shareholders'], 'SHAREHOLDER_COUNT', lang, rule));
  }
  return problems;
}

/** YYYY-MM-DD naming a day of the calendar. */
function isRealDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text;
}

/**
 * A person's name: letters of any script (with their combining marks), the middle dot of minority and foreign names
 * in Chinese (·, and its look-alikes), and the spaces, hyphens, apostrophes and periods of names in Latin letters.
 */
const PERSON_NAME = /^[\p{L}\p{M}〇](?:[\p{L}\p{M}〇·・‧•.'’ \p{Pd}]*[\p{L}\p{M}〇.])?$/u;
/**
 * What no free text of an application holds: control, invisible or private-use characters, and emoji (pictographs,
 * but not the ©, ® and ™ of a trade mark).
 */
const NOT_TEXT = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]|(?![©®™])\p{Extended_Pictographic}/u;

/** The paths of every person's name the application holds (shareholders by index). */
function personNamePaths(at: (path: string[]) => unknown): (string | number)[][] {
  const shareholders = at(['people', 'shareholders']);
  const count = Array.isArray(shareholders) ? Math.min(shareholders.length, 100) : 0;
  return [
    ['applicant', 'name'],
    ['people', 'legalRepresentative', 'name'],
    ['people', 'supervisor', 'name'],
    ['people', 'financeOfficer', 'name'],
    ...Array.from({ length: count }, (_, i) => ['people', 'shareholders', i, 'name']),
  ];
}

/** The paths of the application's free text: the company's name and address, scope items, the bank's branch. */
function freeTextPaths(at: (path: string[]) => unknown): (string | number)[][] {
  const scope = at(['company', 'businessScope']);
  const count = Array.isArray(scope) ? Math.min(scope.length, 100) : 0;
  return [
    ['company', 'name'],
    ['company', 'address'],
    ['services', 'bank', 'branch'],
    ...Array.from({ length: count }, (_, i) => ['company', 'businessScope', i]),
  ];
}

/** How many owners each entity type has (the shareholders' list names them: investors, partners). */
const OWNERS: Partial<Record<string, { exactly?: number; atLeast?: number; entity_zh: string; entity_en: string }>> = {
  one_person_limited_liability_company: {
    exactly: 1,
    entity_zh: '一人有限责任公司',
    entity_en: 'one-person limited liability company',
  },
  sole_proprietorship: { exactly: 1, entity_zh: '个人独资企业', entity_en: 'sole proprietorship' },
  partnership: { atLeast: 2, entity_zh: '合伙企业', entity_en: 'partnership' },
};

/** The paths of the values a partial body sends (`company.address`, `services.seals`): what a correction answers. */
export function sentPaths(body: unknown, path = ''): string[] {
  if (!isObject(body) || Array.isArray(body)) return path ? [path] : [];
  return Object.entries(body).flatMap(([key, value]) => sentPaths(value, path ? `${path}.${key}` : key));
}
