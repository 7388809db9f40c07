import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inputProblems, parseApplication, sentPaths, type Application } from '../domain/application';
import { idNumberCheckCharacter } from '../domain/codes';
import { languageFrom } from '../domain/problems';

const fixture = JSON.parse(
  readFileSync(path.resolve(__dirname, '../../shared/fixtures/application.sample.json'), 'utf8'),
);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- edits deliberately break the types
function variant(edit: (app: any) => void): unknown {
  const copy = structuredClone(fixture);
  edit(copy);
  return copy;
}

function told(input: unknown, changed?: string[]) {
  return inputProblems(input, 'en', changed).map((p) => `${p.path} ${p.code}`);
}

function codesOf(input: unknown, lang: 'zh' | 'en' = 'en') {
  const result = parseApplication(input, lang);
  if (result.ok) throw new Error('expected the application to be rejected');
  return result.problems.map((p) => `${p.path} ${p.code}`);
}

describe('the application schema', () => {
  it('accepts the integrators’ sample fixture as is', () => {
    const result = parseApplication(fixture);
    expect(result.ok).toBe(true);
    expect((result as { value: Application }).value.company.district).toBe('360113');
  });

  it('lists every problem at once, each with its field path and stable code', () => {
    const input = variant((a) => {
      a.applicant.idNumber = '360102199003071235';
      a.applicant.phone = '12345';
      a.company.district = '110101';
      a.company.businessScope = [];
      a.company.employees = '5';
      a.surprise = true;
      a.people.shareholders[1].contributionCny = 1;
      delete a.company.address;
    });
    expect(codesOf(input).sort()).toEqual(
      [
        'applicant.idNumber ID_NUMBER_CHECK',
        'applicant.phone PHONE_INVALID',
        'company.district DISTRICT_UNKNOWN',
        'company.businessScope SCOPE_EMPTY',
        'company.employees INVALID_TYPE',
        'company.address REQUIRED',
        'surprise UNKNOWN_FIELD',
        'people.shareholders CONTRIBUTIONS_MISMATCH',
      ].sort(),
    );
  });

  it('names array elements in paths', () => {
    const input = variant((a) => {
      a.people.shareholders[1].idNumber = '36011119851112456Y';
    });
    expect(codesOf(input)).toEqual(['people.shareholders[1].idNumber ID_NUMBER_FORMAT']);
  });

  it('refuses an ID number whose birth date is after today, even with a valid check character', () => {
    const withBirth = (date: string) => {
      const body = `360111${date}456`;
      return body + idNumberCheckCharacter(body);
    };
    const born = (date: string) =>
      variant((a) => {
        a.people.shareholders[1].idNumber = withBirth(date);
      });
    expect(codesOf(born('20900101'))).toEqual(['people.shareholders[1].idNumber ID_NUMBER_BIRTH_FUTURE']);
    const tomorrow = new Date(Date.now() + (8 + 24) * 3_600_000).toISOString().slice(0, 10).replaceAll('-', '');
    expect(codesOf(born(tomorrow))).toEqual(['people.shareholders[1].idNumber ID_NUMBER_BIRTH_FUTURE']);
    expect(parseApplication(born('19900307')).ok).toBe(true);
    const problem = (parseApplication(born('20900101'), 'en') as { problems: { message: string }[] }).problems[0];
    expect(problem?.message).toBe('the birth date in the ID number is after today');
  });

  it('tells what a caller sends now apart from the schema: an item listed twice, naming the repeat', () => {
    const input = variant((a) => {
      a.services.seals = ['official', 'finance', 'official'];
      a.services.tax.invoiceTypes = ['vat_general_electronic', 'vat_general_electronic'];
      a.company.businessScope = ['软件开发', '软件开发'];
    });
    // The schema reads stored materials too, accepted before these rules: it lets them through.
    expect(parseApplication(input).ok).toBe(true);
    expect(told(input).sort()).toEqual(
      [
        'services.seals[2] ITEM_DUPLICATE',
        'services.tax.invoiceTypes[1] ITEM_DUPLICATE',
        'company.businessScope[1] ITEM_DUPLICATE',
      ].sort(),
    );
    // A correction is held to what it sends.
    expect(told(input, ['services.seals'])).toEqual(['services.seals[2] ITEM_DUPLICATE']);
    expect(told(input, ['company.address'])).toEqual([]);
    expect(sentPaths({ company: { address: 'x' }, services: { seals: ['official'], bank: {} } })).toEqual([
      'company.address',
      'services.seals',
    ]);
  });

  it('tells a bank date before today (Asia/Shanghai), and free text holding a masked number', () => {
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() + (8 - 24) * 3_600_000).toISOString().slice(0, 10);
    const dated = (date: string) => variant((a) => void (a.services.bank.preferredDate = date));
    expect(told(dated(yesterday))).toEqual(['services.bank.preferredDate DATE_IN_PAST']);
    expect(told(dated(today))).toEqual([]);
    // What an answer shows of an address with a contact number in it, sent back by a client that edits what it read.
    const masked = variant((a) => {
      a.company.address = '红谷滩区丰和中大道1099号 联系人 138****0001';
      a.services.bank.branch = '南昌红谷滩支行 139****0002';
    });
    expect(told(masked).sort()).toEqual(['company.address MASKED_VALUE', 'services.bank.branch MASKED_VALUE']);
    expect(told(fixture)).toEqual([]);
  });

  it('tells a missing shareholder ID number once, and a capital beyond the safe integers as too big, not too long', () => {
    const missing = variant((a) => {
      delete a.people.shareholders[0].idNumber;
      delete a.people.shareholders[1].idNumber;
    });
    expect(codesOf(missing)).toEqual([
      'people.shareholders[0].idNumber REQUIRED',
      'people.shareholders[1].idNumber REQUIRED',
    ]);
    const huge = variant((a) => void (a.company.employees = -1e16));
    expect(codesOf(huge)).toEqual(['company.employees TOO_SMALL']);
    const message = (parseApplication(huge, 'en') as { problems: { message: string }[] }).problems[0]!.message;
    expect(message).toBe('must be at least 0');
    // A positive amount far below zero: its own rule only, not the safe-integer bound beside it.
    expect(codesOf(variant((a) => void (a.company.registeredCapitalCny = -(2 ** 60))))).toEqual([
      'company.registeredCapitalCny NOT_ABOVE',
      'people.shareholders CONTRIBUTIONS_MISMATCH',
    ]);
  });

  it('rejects unknown fields at any depth', () => {
    const input = variant((a) => {
      a.people.supervisor.role = 'chair';
    });
    expect(codesOf(input)).toEqual(['people.supervisor.role UNKNOWN_FIELD']);
  });

  it('speaks Chinese by default and English on request', () => {
    const input = variant((a) => {
      a.company.district = '999999';
    });
    const zh = parseApplication(input, 'zh');
    const en = parseApplication(input, 'en');
    expect(!zh.ok && zh.problems[0]!.message).toMatch(/南昌/);
    expect(!en.ok && en.problems[0]!.message).toMatch(/Nanchang/);
  });

  it('checks that contributions sum to the registered capital', () => {
    const input = variant((a) => {
      a.company.registeredCapitalCny = 2_000_000;
    });
    expect(codesOf(input)).toEqual(['people.shareholders CONTRIBUTIONS_MISMATCH']);
  });

  it('lists the rules of the whole application beside a malformed ID number (one problem per number)', () => {
    const input = variant((a) => {
      a.company.registeredCapitalCny = 2_000_000;
      a.people.supervisor.idNumber = '12345';
      a.people.shareholders[0].idNumber = '36011119851112456Y';
    });
    expect(codesOf(input).sort()).toEqual(
      [
        'people.shareholders CONTRIBUTIONS_MISMATCH',
        'people.shareholders[0].idNumber ID_NUMBER_FORMAT',
        'people.supervisor.idNumber ID_NUMBER_FORMAT',
      ].sort(),
    );
  });

  it('says a zero amount must be more than 0 (not "at least 0", which zero is)', () => {
    const input = variant((a) => {
      a.company.registeredCapitalCny = 0;
      for (const s of a.people.shareholders) s.contributionCny = 0;
    });
    const en = parseApplication(input, 'en');
    const zh = parseApplication(input, 'zh');
    if (en.ok || zh.ok) throw new Error('expected the application to be rejected');
    expect(en.problems).toContainEqual({
      path: 'company.registeredCapitalCny',
      code: 'NOT_ABOVE',
      message: 'must be more than 0',
    });
    expect(zh.problems.find((p) => p.path === 'company.registeredCapitalCny')?.message).toBe('必须大于 0');
  });

  it('rejects a body that is not an object', () => {
    expect(codesOf([])).toEqual(['(body) INVALID_TYPE']);
    expect(codesOf(null)).toEqual(['(body) INVALID_TYPE']);
  });
});

describe('Accept-Language', () => {
  it.each([
    [undefined, 'zh'],
    ['en-US,en;q=0.9', 'en'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh'],
    ['en;q=0.5,zh;q=0.9', 'zh'],
    ['fr-FR', 'zh'],
  ])('%s → %s', (header, lang) => {
    expect(languageFrom(header)).toBe(lang);
  });
});
