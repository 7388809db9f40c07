/** Errors of the working-time calendar. Each carries a stable `code` that the API maps to a status once. */

export const SCHEDULES_FILE = 'domain/calendar/schedules.ts';

/** An operation touched a date in a year for which no official schedule is loaded. Never guessed from weekends. */
export class CalendarYearMissingError extends Error {
  readonly code = 'CALENDAR_YEAR_MISSING';
  readonly year: number;

  constructor(year: number) {
    super(
      `No official holiday schedule for ${year}; add it to ${SCHEDULES_FILE} from the State Council notice ` +
        `(see domain/calendar/README.md)`,
    );
    this.name = 'CalendarYearMissingError';
    this.year = year;
  }
}

/** Office hours or schedule data that cannot describe a calendar. */
export class CalendarConfigError extends Error {
  readonly code = 'CALENDAR_CONFIG_INVALID';
  readonly field: string;

  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'CalendarConfigError';
    this.field = field;
  }
}

/** A text that is not an ISO 8601 instant with an offset, or a date that is not 'YYYY-MM-DD'. */
export class InstantFormatError extends Error {
  readonly code: 'INSTANT_INVALID' | 'DATE_INVALID';

  constructor(code: 'INSTANT_INVALID' | 'DATE_INVALID', message: string) {
    super(message);
    this.name = 'InstantFormatError';
    this.code = code;
  }
}
