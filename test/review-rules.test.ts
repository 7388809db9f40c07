import { createHash } from 'node:crypto';
import {
  assessApplication,
  CURRENT_REVIEW_RULES,
  REVIEW_RULE_EDITIONS,
  reviewRulesEdition,
  type ReviewRules,
} from '../domain/review-rules';
import { sampleApplication } from './helpers/fixtures';
import type { Application } from '../domain/application';

const TODAY = '2026-11-28';

function codes(edit: (app: Application) => void): string[] {
  return assessApplication(sampleApplication(edit), TODAY).findings.map((f) => `${f.path} ${f.code}`);
}

describe('automatic approval rules (智能秒办)', () => {
  it('approves the sample application with no finding', () => {
    expect(assessApplication(sampleApplication(), TODAY)).toEqual({ decision: 'auto_approve', findings: [] });
  });

  it.each<[string, (app: Application) => void, string[]]>([
    [
      'a sensitive word in the name',
      (a) => void (a.company.name = '南昌赣江金融科技有限公司'),
      ['company.name NAME_SENSITIVE_WORD'],
    ],
    [
      'a business scope item outside the standard list',
      (a) => void a.company.businessScope.push('代客炒股'),
      ['company.businessScope[3] SCOPE_NON_STANDARD'],
    ],
    [
      'an address outside the standard address list',
      (a) => void (a.company.address = '红谷滩区某某村口大树下'),
      ['company.address ADDRESS_NON_STANDARD'],
    ],
    [
      'a road of another district',
      (a) => void (a.company.address = '八一大道1号'),
      ['company.address ADDRESS_NON_STANDARD'],
    ],
    [
      'capital below the automatic range',
      (a) => {
        a.company.registeredCapitalCny = 5000;
        a.people.shareholders = [{ ...a.people.shareholders[0]!, contributionCny: 5000 }];
      },
      ['company.registeredCapitalCny CAPITAL_OUT_OF_RANGE'],
    ],
    [
      'one ID number with two names',
      (a) => void (a.people.financeOfficer.idNumber = a.people.supervisor!.idNumber),
      ['people PEOPLE_INCONSISTENT', 'people.supervisor SUPERVISOR_CONFLICT'],
    ],
    [
      'the supervisor also legal representative',
      (a) => void (a.people.supervisor = { name: '张三', idNumber: '360102199003071236' }),
      ['people.supervisor SUPERVISOR_CONFLICT'],
    ],
    [
      'a minor as finance officer',
      (a) => void (a.people.financeOfficer = { name: '赵小六', idNumber: '360103201001011236', phone: '13907910002' }),
      ['people.financeOfficer PERSON_MINOR'],
    ],
    [
      'a company without a supervisor (lawful if every shareholder agreed)',
      (a) => void delete a.people.supervisor,
      ['people.supervisor SUPERVISOR_ABSENT'],
    ],
    [
      'more insured employees than employees',
      (a) => void (a.services.socialSecurity.insuredEmployees = 9),
      ['services.socialSecurity.insuredEmployees EMPLOYEES_INCONSISTENT'],
    ],
  ])('sends %s to manual review, saying why', (_what, edit, expected) => {
    expect(codes(edit)).toEqual(expected);
    const assessment = assessApplication(sampleApplication(edit), TODAY);
    expect(assessment.decision).toBe('manual_review');
    for (const f of assessment.findings) {
      expect(f.reason.zh.length).toBeGreaterThan(3);
      expect(f.reason.en.length).toBeGreaterThan(10);
    }
  });

  it('asks no supervisor of a sole proprietorship or a partnership', () => {
    for (const entityType of ['sole_proprietorship', 'partnership'] as const) {
      expect(
        codes((a) => {
          a.company.entityType = entityType;
          delete a.people.supervisor;
        }),
      ).toEqual([]);
    }
  });

  it('counts age on the given day: 18 on the birthday, not the day before', () => {
    const withFinance = (id: string) => (a: Application) =>
      void (a.people.financeOfficer = { name: '赵小六', idNumber: id, phone: '13907910002' });
    // Born 2008-11-28: 18 on 2026-11-28.
    expect(codes(withFinance('360103200811281233'))).toEqual([]);
    expect(
      assessApplication(sampleApplication(withFinance('360103200811281233')), '2026-11-27').findings.map((f) => f.code),
    ).toEqual(['PERSON_MINOR']);
  });
});

describe('editions of the rules', () => {
  // A running application replays its review with the edition of its acceptance: an edition, once shipped, stays as
  // it is. To change a list, add an edition (and make it CURRENT_REVIEW_RULES); then add its digest here.
  const SHIPPED: Record<string, string> = {
    '2026-11': 'a7b76a1441f6e1aa96ede4eab7dd7a899a5190a580d31f412da8ebf8b0c55754',
  };

  it.each(Object.entries(REVIEW_RULE_EDITIONS))('edition %s is the one shipped, unchanged', (id, edition) => {
    expect(createHash('sha256').update(JSON.stringify(edition)).digest('hex')).toBe(SHIPPED[id]);
  });

  it('assesses with the edition it is given, the current one by default, the first one for older histories', () => {
    const current = REVIEW_RULE_EDITIONS[CURRENT_REVIEW_RULES];
    const stricter: ReviewRules = { ...current, sensitiveNameWords: [...current.sensitiveNameWords, '科技'] };
    const app = sampleApplication();
    expect(assessApplication(app, TODAY).decision).toBe('auto_approve');
    expect(assessApplication(app, TODAY, stricter).findings.map((f) => f.code)).toEqual(['NAME_SENSITIVE_WORD']);
    expect(reviewRulesEdition(undefined)).toBe(REVIEW_RULE_EDITIONS['2026-11']);
    expect(() => reviewRulesEdition('2099-01')).toThrow(/not in this build/);
  });
});
