/**
 * The search attributes an application starts with (set by the API at submission) and the rule by which the
 * workflow upserts at acceptance only what differs: an unset list equals an empty one, and two KaibanDueAt values
 * less than a minute apart are equal. The provisional deadline is the acceptance activity's, counted from submission.
 */
import { TypedSearchAttributes } from '@temporalio/common';
import { createWorkingCalendar, parseInstant } from '../domain/calendar';
import { OFFICIAL_SCHEDULES } from '../domain/calendar/official';
import { applicationDeadline, DEFAULT_SLA_TERMS, provisionalDueAt } from '../domain/sla';
import {
  changedSearchAttributes,
  companyNameFromSearchText,
  companyNameKey,
  companySearchText,
  dueAtKey,
  DUE_AT_TOLERANCE_MS,
  ownerKey,
  pendingTaskKey,
  slaLevelKey,
  statusKey,
  submissionSearchAttributes,
} from '../infra/search-attributes';

const calendar = createWorkingCalendar({ schedules: OFFICIAL_SCHEDULES });
const company = { name: '南昌青山科技有限公司', district: '360111' };
const OWNER = 'o1:an-applicants-digest';

describe('search attributes at submission', () => {
  it('start running, on track, with the deadline counted from submission', () => {
    // Friday 2026-11-27 16:00 Shanghai: 7 working hours end on Monday 2026-11-30 at 16:00.
    const submittedAt = parseInstant('2026-11-27T16:00:00+08:00');
    const dueAt = provisionalDueAt(calendar, DEFAULT_SLA_TERMS, submittedAt)!;
    expect(new Date(dueAt).toISOString()).toBe('2026-11-30T08:00:00.000Z');
    expect(dueAt).toBe(applicationDeadline(calendar, DEFAULT_SLA_TERMS, submittedAt).dueAt);

    const pairs = new TypedSearchAttributes(submissionSearchAttributes(company, dueAt, OWNER));
    expect(pairs.get(statusKey)).toBe('running');
    expect(pairs.get(slaLevelKey)).toBe('on_track');
    expect(pairs.get(companyNameKey)).toBe('南昌青山科技有限公司 南 昌 青 山 科 技 有 限 公 司');
    expect(pairs.get(dueAtKey)?.getTime()).toBe(dueAt);
    expect(pairs.get(ownerKey)).toBe(OWNER);
  });

  it('leave the deadline out when the calendar lacks the year (the workflow publishes it later)', () => {
    const uncovered = parseInstant('2031-03-02T10:00:00+08:00');
    expect(provisionalDueAt(calendar, DEFAULT_SLA_TERMS, uncovered)).toBeUndefined();
    const keys = submissionSearchAttributes(company, undefined, OWNER).map((p) => p.key.name);
    expect(keys).not.toContain('KaibanDueAt');
  });
});

describe('changedSearchAttributes', () => {
  const dueAt = parseInstant('2026-11-30T16:00:00+08:00');
  const current = new TypedSearchAttributes(submissionSearchAttributes(company, dueAt, OWNER));

  it('finds nothing to upsert when acceptance repeats the submission values, an empty list and a close deadline', () => {
    const changed = changedSearchAttributes(
      [
        { key: statusKey, value: 'running' },
        { key: pendingTaskKey, value: [] },
        { key: slaLevelKey, value: 'on_track' },
        { key: dueAtKey, value: new Date(dueAt + DUE_AT_TOLERANCE_MS - 1) },
      ],
      current,
    );
    expect(changed).toEqual([]);
  });

  it('keeps every pair that differs: a value, a list, a deadline a minute or more away, an attribute not set', () => {
    const later = new Date(dueAt + DUE_AT_TOLERANCE_MS);
    const changed = changedSearchAttributes(
      [
        { key: statusKey, value: 'completed' },
        { key: pendingTaskKey, value: ['review'] },
        { key: slaLevelKey, value: 'on_track' },
        { key: dueAtKey, value: later },
      ],
      current,
    );
    expect(changed.map((p) => p.key.name)).toEqual(['KaibanStatus', 'KaibanPendingTask', 'KaibanDueAt']);
    expect(
      changedSearchAttributes([{ key: dueAtKey, value: later }], new TypedSearchAttributes()).map((p) => p.key.name),
    ).toEqual(['KaibanDueAt']);
  });
});

describe('the company name in visibility', () => {
  it("holds none of the characters PostgreSQL's visibility cannot take in a Text attribute (' : \\), and gives them back in the name", () => {
    const name = "Li's Tech: A\\B（南昌）有限公司";
    const text = companySearchText(name);
    expect(text).not.toMatch(/['\\:]/);
    expect(companyNameFromSearchText(text)).toBe(name);
    // Search text written before: its name as it was.
    expect(companyNameFromSearchText('南昌青山 南 昌 青 山')).toBe('南昌青山');
    // Written so by an API from before, at the submission: the same name, so the workflow's acceptance (replayed too)
    // upserts nothing for it.
    const before = `${name} ${[...name].filter((c) => c.trim()).join(' ')}`;
    const current = new TypedSearchAttributes([{ key: companyNameKey, value: before }]);
    expect(changedSearchAttributes([{ key: companyNameKey, value: text }], current)).toEqual([]);
  });

  it.each([
    '南昌青山科技有限公司',
    '南昌 赣江云数科技有限公司',
    'Nanchang  Blue Sky Ltd',
    '南昌\u3000青山',
    "O'Brien Ltd: 1",
  ])('comes back whole from its search text: %s', (name) => {
    expect(companyNameFromSearchText(companySearchText(name))).toBe(name);
  });
});
