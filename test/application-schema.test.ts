import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  BANK_DATE_HORIZON_DAYS,
  inputProblems,
  parseApplication,
  sentPaths,
  type Application,
} from '../domain/application';
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

  it('tells a bank date before today or more than 90 days ahead (Asia/Shanghai), and free text holding a masked number', () => {
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() + (8 - 24) * 3_600_000).toISOString().slice(0, 10);
    const dated = (date: string) => variant((a) => void (a.services.bank.preferredDate = date));
    expect(told(dated(yesterday))).toEqual(['services.bank.preferredDate DATE_IN_PAST']);
    expect(told(dated(today))).toEqual([]);
    // 90 days ahead is the furthest a bank date may be; a slip of the year (2099) is told, as the day after the limit.
    const ahead = (days: number) => new Date(Date.now() + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
    expect(told(dated(ahead(BANK_DATE_HORIZON_DAYS)))).toEqual([]);
    expect(told(dated(ahead(BANK_DATE_HORIZON_DAYS + 1)))).toEqual(['services.bank.preferredDate DATE_TOO_FAR']);
    expect(told(dated('2099-03-01'))).toEqual(['services.bank.preferredDate DATE_TOO_FAR']);
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
    // Nor a mismatch of the contributions with a capital that is itself refused.
    expect(codesOf(variant((a) => void (a.company.registeredCapitalCny = -(2 ** 60))))).toEqual([
      'company.registeredCapitalCny NOT_ABOVE',
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

  it('takes ID and mobile numbers as people type them: spaces, full-width characters, a lower-case x, +86', () => {
    const withX = `36011119851112456`;
    const idWithX = `${withX}${idNumberCheckCharacter(withX)}`;
    expect(idWithX.endsWith('X')).toBe(true);
    const fullWidth = (text: string) => text.replace(/[0-9X]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const cases: [string, string, string, string][] = [
      [` ${idWithX.toLowerCase()} `, '+86 138 0791 0001', idWithX, '13807910001'],
      [fullWidth(idWithX), '0086-138-0791-0001', idWithX, '13807910001'],
      ['360102 19900307 1236', '１３８０７９１０００１', '360102199003071236', '13807910001'],
      ['360102-19900307-1236', '138 0791 0001', '360102199003071236', '13807910001'],
    ];
    for (const [id, phone, idAs, phoneAs] of cases) {
      const result = parseApplication(
        variant((a) => {
          a.applicant.idNumber = id;
          a.applicant.phone = phone;
        }),
      );
      if (!result.ok) throw new Error(JSON.stringify(result.problems));
      expect([result.value.applicant.idNumber, result.value.applicant.phone]).toEqual([idAs, phoneAs]);
    }
    // Invisible characters are not separators: a number holding one is refused, not mended.
    for (const odd of ['\ufeff', '\u2028', '\u200b']) {
      const result = parseApplication(
        variant((a) => {
          a.applicant.idNumber = `360${odd}102199003071236`;
          a.applicant.phone = `138${odd}07910001`;
        }),
        'en',
      );
      expect(result.ok ? [] : result.problems.map((p) => `${p.path} ${p.code}`)).toEqual([
        'applicant.idNumber ID_NUMBER_FORMAT',
        'applicant.phone PHONE_INVALID',
      ]);
    }
    // Anything else is still refused, and the message says the rule the number breaks.
    for (const phone of ['12345678901', '+1 138 0791 0001', '138079100011']) {
      const result = parseApplication(
        variant((a) => void (a.applicant.phone = phone)),
        'en',
      );
      expect(result.ok ? [] : result.problems).toEqual([
        {
          path: 'applicant.phone',
          code: 'PHONE_INVALID',
          message: 'a mobile number has 11 digits and starts with 13 to 19',
        },
      ]);
    }
    const zh = parseApplication(variant((a) => void (a.applicant.phone = '11012345678')));
    expect(!zh.ok && zh.problems[0]!.message).toBe('手机号码应为11位数字，前两位为13至19');
  });

  it('tells a day that does not exist as such, and not also as a past one', () => {
    for (const date of ['2027-02-29', '2026-02-30', '2026-13-01']) {
      const input = variant((a) => void (a.services.bank.preferredDate = date));
      const en = parseApplication(input, 'en');
      const zh = parseApplication(input, 'zh');
      expect(en.ok ? [] : en.problems).toEqual([
        {
          path: 'services.bank.preferredDate',
          code: 'DATE_INVALID',
          message: 'must be a real calendar date, as YYYY-MM-DD',
        },
      ]);
      expect(!zh.ok && zh.problems[0]!.message).toBe('应为真实存在的日期，格式 YYYY-MM-DD');
      expect(told(input)).toEqual([]);
    }
  });

  it('tells names holding anything but letters, and free text holding control characters or emoji', () => {
    const named = (name: string) => variant((a) => void (a.people.shareholders[1].name = name));
    for (const name of ['12', '\u200b\u200b', '张\u0000三', '张三😀', '张三3']) {
      expect(told(named(name))).toEqual(['people.shareholders[1].name NAME_CHARACTERS']);
    }
    for (const name of ['阿依古丽·买买提', 'Mary-Jane O’Neil', 'José Núñez Jr.', '欧阳 修', '王〇', 'Anne–Marie']) {
      expect(told(named(name))).toEqual([]);
      expect(parseApplication(named(name)).ok).toBe(true);
    }
    const text = variant((a) => {
      a.company.name = '南昌😀科技有限公司';
      a.company.address = '红谷滩区丰和中大道\u00001099号';
      a.company.businessScope[1] = '软件开发\u200d';
      a.services.bank.branch = '南昌红谷滩支行';
    });
    expect(told(text).sort()).toEqual(
      [
        'company.address TEXT_CHARACTERS',
        'company.businessScope[1] TEXT_CHARACTERS',
        'company.name TEXT_CHARACTERS',
      ].sort(),
    );
    // Digits, Latin letters, brackets and a trade mark's signs are a company name's as much as Chinese characters are.
    expect(told(variant((a) => void (a.company.name = '南昌Kaiban™科技有限公司')))).toEqual([]);
    expect(told(variant((a) => void (a.company.name = '南昌ABC123（江西）科技有限公司')))).toEqual([]);
    const zh = inputProblems(named('12'), 'zh');
    expect(zh[0]!.message).toBe('姓名只能包含文字，以及间隔号（·）、空格、连字符、撇号或句点');
  });

  it('tells an entity type whose number of owners the list of shareholders does not match, on either side', () => {
    const typed = (entityType: string, owners: number) =>
      variant((a) => {
        a.company.entityType = entityType;
        a.people.shareholders = a.people.shareholders.slice(0, owners);
        a.company.registeredCapitalCny = a.people.shareholders.reduce(
          (sum: number, s: { contributionCny: number }) => sum + s.contributionCny,
          0,
        );
      });
    expect(told(typed('one_person_limited_liability_company', 2))).toEqual(['people.shareholders SHAREHOLDER_COUNT']);
    expect(told(typed('sole_proprietorship', 2))).toEqual(['people.shareholders SHAREHOLDER_COUNT']);
    expect(told(typed('partnership', 1))).toEqual(['people.shareholders SHAREHOLDER_COUNT']);
    for (const [type, owners] of [
      ['one_person_limited_liability_company', 1],
      ['sole_proprietorship', 1],
      ['partnership', 2],
      ['limited_liability_company', 1],
      ['limited_liability_company', 2],
    ] as const) {
      expect(told(typed(type, owners))).toEqual([]);
    }
    const one = typed('one_person_limited_liability_company', 2);
    expect(inputProblems(one, 'en')[0]!.message).toBe('a one-person limited liability company has exactly one owner');
    expect(inputProblems(typed('partnership', 1), 'zh')[0]!.message).toBe('合伙企业至少需要两名合伙人');
    // A correction is held to what it sends: the entity type, or the shareholders.
    expect(told(one, ['company.entityType'])).toEqual(['people.shareholders SHAREHOLDER_COUNT']);
    expect(told(one, ['people.shareholders'])).toEqual(['people.shareholders SHAREHOLDER_COUNT']);
    expect(told(one, ['company.address'])).toEqual([]);
  });

  it('says the expected type in Chinese, that a null field is left out by omitting it, and stars a number used as a field name', () => {
    const input = variant((a) => {
      a.applicant.email = null;
      a.company.employees = '12';
      a.applicant['13807910001'] = true;
    });
    const zh = parseApplication(input, 'zh');
    const en = parseApplication(input, 'en');
    if (zh.ok || en.ok) throw new Error('expected the application to be rejected');
    expect(zh.problems.find((p) => p.path === 'company.employees')?.message).toBe('类型错误，应为数字');
    expect(zh.problems.find((p) => p.path === 'applicant.email')?.message).toBe(
      '类型错误，应为文本（字符串）；不填请省略此字段',
    );
    expect(en.problems.find((p) => p.path === 'applicant.email')?.message).toBe(
      'wrong type, expected string; to leave it out, omit the field',
    );
    const unknown = en.problems.find((p) => p.code === 'UNKNOWN_FIELD')!;
    expect(unknown).toEqual({
      path: 'applicant.***********',
      code: 'UNKNOWN_FIELD',
      message: "unknown field '***********'",
    });
    expect(JSON.stringify(zh.problems)).not.toContain('13807910001');
  });

  it('takes an application without a supervisor (a sole proprietorship or a partnership has none)', () => {
    const result = parseApplication(
      variant((a) => {
        a.company.entityType = 'sole_proprietorship';
        a.people.shareholders = a.people.shareholders.slice(0, 1);
        a.company.registeredCapitalCny = a.people.shareholders[0].contributionCny;
        delete a.people.supervisor;
      }),
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.value.people.supervisor).toBeUndefined();
    // A correction removes one by sending null (leaving the field out keeps it).
    const removed = parseApplication(variant((a) => void (a.people.supervisor = null)));
    expect(removed.ok && removed.value.people.supervisor).toBeNull();
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
