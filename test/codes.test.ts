import {
  buildUscc,
  idNumberCheckCharacter,
  isValidIdNumber,
  isValidOrgCode,
  isValidUscc,
  orgCodeCheckCharacter,
  parseUscc,
  usccCheckCharacter,
} from '../domain/codes';

describe('GB 11643 ID numbers', () => {
  it.each(['11010519491231002X', '440524188001010014', '360102199003071236', '36011119851112456X'])(
    'accepts the valid number %s',
    (id) => {
      expect(isValidIdNumber(id)).toBe(true);
    },
  );

  it('computes the check character by ISO 7064 MOD 11-2', () => {
    // The GB 11643-1999 appendix example: 11010519491231002 → X
    expect(idNumberCheckCharacter('11010519491231002')).toBe('X');
    expect(idNumberCheckCharacter('44052418800101001')).toBe('4');
  });

  it.each([
    ['a wrong check digit', '360102199003071235'],
    ['a lower-case x', '11010519491231002x'],
    ['an impossible date', '360102199002301234'],
    ['17 characters', '36010219900307123'],
    ['letters in the body', '3601021990030712A6'],
  ])('rejects %s', (_what, id) => {
    expect(isValidIdNumber(id)).toBe(false);
  });

  it('detects every single-digit corruption of a valid number', () => {
    const valid = '360102199003071236';
    for (let i = 0; i < 17; i++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === valid[i]) continue;
        const corrupted = valid.slice(0, i) + d + valid.slice(i + 1);
        expect(isValidIdNumber(corrupted)).toBe(false);
      }
    }
  });
});

describe('GB 11714 organisation codes', () => {
  it('accepts published valid codes', () => {
    // The organisation code inside the GB 32100-2015 example USCC 91350100M000100Y43.
    expect(isValidOrgCode('M000100Y4')).toBe(true);
    expect(orgCodeCheckCharacter('M000100Y')).toBe('4');
  });

  it('uses X for a check value of 10 and 0 for 11', () => {
    // Weighted sum 0 → 11 - 0 = 11 → '0'; 6 × 2 = 12 ≡ 1 (mod 11) → 11 - 1 = 10 → 'X'; 5 × 2 = 10 → 1.
    expect(orgCodeCheckCharacter('00000000')).toBe('0');
    expect(orgCodeCheckCharacter('00000006')).toBe('X');
    expect(orgCodeCheckCharacter('00000005')).toBe('1');
  });
});

describe('GB 32100 Unified Social Credit Codes', () => {
  it('accepts the standard example 91350100M000100Y43', () => {
    expect(isValidUscc('91350100M000100Y43')).toBe(true);
    expect(usccCheckCharacter('91350100M000100Y4')).toBe('3');
    expect(parseUscc('91350100M000100Y43')).toEqual({
      authority: '9',
      category: '1',
      regionCode: '350100',
      orgCode: 'M000100Y4',
      check: '3',
    });
  });

  it.each([
    ['a wrong check character', '91350100M000100Y44'],
    ['a wrong organisation-code check inside', '91350100M000100Y53'],
    ['a forbidden letter I', '91350100I000100Y43'],
    ['17 characters', '91350100M000100Y4'],
  ])('rejects %s', (_what, code) => {
    expect(isValidUscc(code)).toBe(false);
  });

  it('builds codes whose region part is the district and whose checks hold', () => {
    const code = buildUscc('360113', '7A3K9Q2M');
    expect(code).toHaveLength(18);
    expect(code.slice(2, 8)).toBe('360113');
    expect(isValidUscc(code)).toBe(true);
    expect(isValidOrgCode(code.slice(8, 17))).toBe(true);
  });
});
