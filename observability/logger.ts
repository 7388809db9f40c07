/**
 * The one pino logger. Personal data never reaches a log line in the clear: known personal fields
 * are censored wherever they appear (request bodies, payloads, errors), and free text is scrubbed
 * of anything shaped like an ID or mobile number.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

/** Personal fields of an application, and credentials, censored under any parent. */
const PERSONAL_FIELDS = ['idNumber', 'phone', 'email', 'authorization', 'token'];
/** A person's name (a company's `name` is public register data and stays readable). */
const PERSON_NAMES = [
  'applicant.name',
  'legalRepresentative.name',
  'supervisor.name',
  'financeOfficer.name',
  'shareholders[*].name',
];
const DEPTHS = ['', '*.', '*.*.', '*.*.*.', '*.*.*.*.', '*.*.*.*.*.'];

/** Paths up to six levels deep: `idNumber`, `*.idNumber`, `*.*.idNumber`, … (pino redaction has no `**`). */
export const REDACT_PATHS = [...PERSONAL_FIELDS, ...PERSON_NAMES].flatMap((f) => DEPTHS.map((d) => `${d}${f}`));

/**
 * 18 characters not inside a longer run of digits (letters around it do not hide it: `ID:3601…1236abc`; nor does a digit
 * after its X: `…123X1`).
 */
const ID_NUMBER = /(?<![0-9])(\d{4})\d{10}(\d{3}(?:\d(?![0-9])|[Xx]))/g;
/**
 * The same grouped as people write them, by single spaces or hyphens: 6-8-4 (region, birth date, sequence and check:
 * `360102 19900307 1236`) or by fours (`3601 0219 9003 0712 36`). Other groupings (dates, order numbers) are left.
 */
const GROUPED_ID_NUMBER =
  /(?<![0-9])(?:(\d{4})(\d{2}[ -]\d{4})(\d{4}[ -]\d{3}[\dXx])|(\d{4})([ -]\d{4}[ -]\d{4}[ -]\d{2})(\d{2}[ -]\d[\dXx]))(?![0-9])/g;
/** A first-generation ID number (15 digits, still on old records). */
const OLD_ID_NUMBER = /(?<![0-9A-Za-z])(\d{4})\d{8}(\d{3})(?![0-9A-Za-z])/g;
const EMAIL = /(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
/**
 * A mainland mobile number, also with the country code or grouped (`+86 138…`, `(+86)13807910001`,
 * `138-0791-0001`, `138.0791.0001`, `(138) 0791 0001`).
 */
const MOBILE = /(?<![0-9])((?:\(?\+?86\)?[- ]?)?\(?1[3-9]\d\)?)([-. ]?)\d{4}([-. ]?)(\d{4})(?![0-9])/g;
/** The same grouped 4-3-4 (`1380 791 0001`). */
const MOBILE_434 = /(?<![0-9])((?:\+?86[- ]?)?1[3-9]\d\d)([-. ])\d{3}([-. ])(\d{4})(?![0-9])/g;
/** Full-width digits and X (`１３８…`), read as the ASCII ones they look like. */
const FULL_WIDTH = /[\uFF10-\uFF19\uFF38\uFF58]/g;
/**
 * Separators between digits that are not ASCII: any space but the ASCII one (no-break, ideographic, thin, …) and any
 * dash (full-width hyphen, en and em dashes, …), read as a space and a hyphen. Elsewhere text keeps its own.
 */
const WIDE_SEPARATORS = /(?<=\d)[\p{Zs}\p{Pd}](?=\d)/gu;
/** A JSON `\uXXXX` escape (an agency's body with non-ASCII escaped): its last hex digit hid the number after it. */
const JSON_ESCAPE = /\\u([0-9A-Fa-f]{4})/g;

/**
 * Identifiers Kaiban and Temporal generate at random (an application's id `kb-<32 hex>`, a UUID: a run id, a request
 * id, an action id): never personal, yet about one application id in six hundred holds eleven digits in a row that read
 * as a mobile number. Masked, it could no longer be found in the logs or matched to the answer that named it.
 */
const GENERATED_ID =
  /(?<![0-9A-Za-z])(?:kb-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![0-9A-Za-z])/gi;
/** Stands for the n-th generated id while the text is scrubbed (no digit run long enough to be masked). */
const SHIELD = /\u0000(\d{1,6})\u0000/g;

/** Masks ID numbers (`3601**********1236`), mobile numbers (`138****0001`) and e-mail addresses inside free text. */
export function maskPersonalData(text: string): string {
  // A URL's query (`reason=call%2013807910001`) hides digits behind escapes: log it decoded.
  const decoded = percentDecoded(text);
  const ids: string[] = [];
  const shielded = decoded.replace(GENERATED_ID, (id) => `\u0000${ids.push(id) - 1}\u0000`);
  const masked = scrubbed(shielded);
  return ids.length === 0 ? masked : masked.replace(SHIELD, (_, n: string) => ids[Number(n)] ?? '');
}

function scrubbed(text: string): string {
  return text
    .replace(JSON_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    .replace(FULL_WIDTH, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(WIDE_SEPARATORS, (c) => (/\p{Zs}/u.test(c) ? ' ' : '-'))
    .replace(ID_NUMBER, '$1**********$2')
    .replace(GROUPED_ID_NUMBER, groupedIdNumber)
    .replace(OLD_ID_NUMBER, '$1********$2')
    .replace(MOBILE, '$1$2****$3$4')
    .replace(MOBILE_434, '$1$2***$3$4')
    .replace(EMAIL, '$1***@$2');
}

/** A grouped ID number: its first four and last four characters kept, the separators too, the rest starred. */
function groupedIdNumber(_: string, ...groups: (string | undefined)[]): string {
  const star = (text: string) => text.replace(/\d/g, '*');
  const [a1, a2, a3, b1, b2, b3] = groups;
  // 6-8-4: the last group's digits before its final four starred; by fours: the last two groups as they are.
  return a1 !== undefined ? `${a1}${star(a2!)}${a3!.replace(/^\d+/, star)}` : `${b1!}${star(b2!)}${b3!}`;
}

function percentDecoded(text: string): string {
  // A query string's `+` is a space (`reason=caller+138+0791+0001`): the groups of a number it separates.
  if (!/%[0-9A-Fa-f]{2}/.test(text)) return /[?&][^=\s&]+=/.test(text) ? text.replace(/\+/g, ' ') : text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text.replace(/%([0-9A-Fa-f]{2})/g, ' ');
  }
}

/** A copy of `value` in which every string is scrubbed with maskPersonalData. */
function maskStrings(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return maskPersonalData(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error || Object.prototype.toString.call(value) === '[object Error]') {
    // Same prototype (pino's err serializer reports its type), own fields scrubbed and enumerable.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(value))
      copy[key] = maskStrings((value as unknown as Record<string, unknown>)[key], depth + 1);
    return copy;
  }
  if (Array.isArray(value)) return value.map((item) => maskStrings(item, depth + 1));
  // Plain objects only (of any realm); instances (requests, responses, buffers) are left to their serializers.
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== null && Object.getPrototypeOf(proto) !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskStrings(v, depth + 1);
  return out;
}

export function maskIdNumber(id: string): string {
  return id.length === 18 ? `${id.slice(0, 4)}**********${id.slice(14)}` : '*'.repeat(id.length);
}

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    name: options.name ?? 'kaiban',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: {
      log(object) {
        // Error messages and free text anywhere in the line (Temporal's log meta, an agency echoing
        // an ID number) may quote personal data: every string is scrubbed, every error flattened.
        return maskStrings(object, 0) as Record<string, unknown>;
      },
    },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? maskPersonalData(a) : a)) as Parameters<typeof method>;
        // Logged with no message, pino copies the error's message into `msg` after the formatters ran: give it the
        // scrubbed one.
        const [first] = args as unknown[];
        if (args.length === 1 && first !== null && typeof first === 'object') {
          const err = first instanceof Error ? first : (first as { err?: unknown }).err;
          if (err instanceof Error) masked.push(maskPersonalData(err.message) as never);
        }
        method.apply(this, masked);
      },
    },
  };
  const logger = options.destination ? pino(config, options.destination) : pino(config);
  // A child's bindings (a caller's subject, bound into every line of a request) skip the `log` formatter, and pino
  // gives children no bindings formatter: they are scrubbed when the child is made. Children inherit `child`.
  const child = logger.child; // pino's own, called on whichever logger (root or child) makes the child
  logger.child = function scrubbedChild(this: Logger, bindings, childOptions) {
    return child.call(this, maskStrings(bindings, 0) as typeof bindings, childOptions);
  } as Logger['child'];
  return logger;
}

/**
 * The logger for audit events (an operator's reveal of personal data, the codec endpoint): they are written at info
 * whatever the level of the rest, since LOG_LEVEL=error must not silence the record of who saw personal data. Only
 * `silent` (no log output at all) drops them.
 */
export function auditLog(log: Logger): Logger {
  return log.level === 'silent' ? log : log.child({}, { level: 'info' });
}
