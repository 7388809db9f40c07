import pino, { type Logger } from 'pino';

/**
 * Payloads are never logged; these paths are censored anyway in case one slips into a log line,
 * because filings carry founders' ID and phone numbers.
 */
export const REDACTED_PATHS = [
  'payload',
  '*.payload',
  'people',
  '*.people',
  'idNumber',
  '*.idNumber',
  '*.*.idNumber',
  'phone',
  '*.phone',
  '*.*.phone',
  'callbackSecrets',
  '*.callbackSecrets',
];

export function createSimulatorLogger(level = 'info'): Logger {
  return pino({ name: 'agency-simulator', level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
