/**
 * Shipped calendar data as it might look after a change, for test/sla-replay.test.ts: the replay bundle is built
 * with this module in place of domain/calendar/schedules.ts. It carries a 2037 in which National Day is not off
 * at all; if the workflow code read the shipped data instead of the data recorded in its history, its deadlines
 * (and so its timers and alerts) would move.
 */
import type { ScheduleData } from '../../domain/calendar/schedule-data';

export const OFFICIAL_SCHEDULES: ScheduleData = {
  years: [
    {
      year: 2037,
      notice: {
        number: 'ALTERED',
        title: 'altered test data: no National Day holiday',
        publishedOn: '2036-11-01',
        url: 'test:',
      },
      holidays: [],
      makeUpWorkingDays: [],
    },
  ],
};
