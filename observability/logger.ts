/**
 * The one pino logger. Personal data never reaches a log line in the clear: known personal fields
 * are censored wherever they appear (request bodies, payloads, errors), and free text is scrubbed
 * of anything shaped like an ID or mobile number.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

const PERSONAL_FIELDS = ['idNumber', 'phone', 'email'];

/** Paths up to four levels deep: `*.idNumber`, `*.*.idNumber`, … (pino redaction has no `**`). */
export const REDACT_PATHS = PERSONAL_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`, `*.*.*.*.${f}`]);

const ID_NUMBER = /\b(\d{4})\d{10}(\d{3}[\dXx])\b/g;
const MOBILE = /\b(1[3-9]\d)\d{4}(\d{4})\b/g;

/** Masks ID numbers (`3601**********1236`) and mobile numbers (`138****0001`) inside free text. */
export function maskPersonalData(text: string): string {
  return text.replace(ID_NUMBER, '$1**********$2').replace(MOBILE, '$1****$2');
}

export function maskIdNumber(id: string): string {
  return id.length === 18 ? `${id.slice(0, 4)}**********${id.slice(14)}` : '*'.repeat(id.length);
}

export function createLogger(options: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    name: options.name ?? 'kaiban',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: {
      log(object) {
        // Error messages and free text may quote personal data (an agency echoing an ID number).
        if (typeof object.msg === 'string') object.msg = maskPersonalData(object.msg);
        const err = object.err as { message?: string; stack?: string } | undefined;
        if (err && typeof err === 'object') {
          object.err = { ...err, message: maskPersonalData(String(err.message ?? '')), stack: maskPersonalData(String(err.stack ?? '')) };
        }
        return object;
      },
    },
    hooks: {
      logMethod(args, method) {
        const masked = args.map((a) => (typeof a === 'string' ? maskPersonalData(a) : a)) as Parameters<typeof method>;
        method.apply(this, masked);
      },
    },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
