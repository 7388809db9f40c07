/**
 * Check-character algorithms of the Chinese identification codes Kaiban handles.
 *
 * - GB 11643-1999: 18-digit citizen identity number (ISO 7064 MOD 11-2).
 * - GB 11714-1997: 9-character organisation code (8 body characters + check).
 * - GB 32100-2015: 18-character Unified Social Credit Code (USCC), which embeds a GB 11714 code.
 */

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const ID_CHECK = '10X98765432';

/** The check character of an 18-digit ID number, given its first 17 digits. */
export function idNumberCheckCharacter(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('an ID number body is 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

/** Whether a string is an 18-character ID number with a valid birth date and check character. */
export function isValidIdNumber(id: string): boolean {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  const year = Number(id.slice(6, 10));
  const month = Number(id.slice(10, 12));
  const day = Number(id.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  const validDate =
    year >= 1800 && birth.getUTCFullYear() === year && birth.getUTCMonth() === month - 1 && birth.getUTCDate() === day;
  return validDate && idNumberCheckCharacter(id.slice(0, 17)) === id[17];
}

const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;

function orgCharValue(c: string): number {
  if (/^[0-9]$/.test(c)) return c.charCodeAt(0) - 48;
  if (/^[A-Z]$/.test(c)) return c.charCodeAt(0) - 55; // A = 10 … Z = 35
  throw new RangeError(`'${c}' is not an organisation-code character`);
}

/** The GB 11714 check character of an organisation code, given its 8 body characters. */
export function orgCodeCheckCharacter(body8: string): string {
  if (!/^[0-9A-Z]{8}$/.test(body8)) throw new RangeError('an organisation-code body is 8 characters 0-9/A-Z');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += orgCharValue(body8[i]!) * ORG_WEIGHTS[i]!;
  const check = 11 - (sum % 11);
  return check === 10 ? 'X' : check === 11 ? '0' : String(check);
}

export function isValidOrgCode(code9: string): boolean {
  return /^[0-9A-Z]{8}[0-9X]$/.test(code9) && orgCodeCheckCharacter(code9.slice(0, 8)) === code9[8];
}

/** GB 32100-2015 character set: digits and capital letters except I, O, S, V, Z. */
export const USCC_CHARSET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

/** The GB 32100 check character of a USCC, given its first 17 characters. */
export function usccCheckCharacter(first17: string): string {
  if (first17.length !== 17) throw new RangeError('a USCC body is 17 characters');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const value = USCC_CHARSET.indexOf(first17[i]!);
    if (value < 0) throw new RangeError(`'${first17[i]}' is not a USCC character`);
    sum += value * USCC_WEIGHTS[i]!;
  }
  return USCC_CHARSET[(31 - (sum % 31)) % 31]!;
}

export interface UsccParts {
  /** Registration authority code, '9' = market regulation (工商). */
  authority: string;
  /** Entity category, '1' = enterprise under market regulation. */
  category: string;
  /** 6-digit administrative division code of the registering authority. */
  regionCode: string;
  /** 9-character organisation code (GB 11714, check included). */
  orgCode: string;
  check: string;
}

/** Splits a USCC into its parts, or returns null if its structure or either check character is wrong. */
export function parseUscc(code: string): UsccParts | null {
  if (!/^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(code)) return null;
  if (usccCheckCharacter(code.slice(0, 17)) !== code[17]) return null;
  const orgCode = code.slice(8, 17);
  if (!isValidOrgCode(orgCode)) return null;
  return { authority: code[0]!, category: code[1]!, regionCode: code.slice(2, 8), orgCode, check: code[17]! };
}

export function isValidUscc(code: string): boolean {
  return parseUscc(code) !== null;
}

/**
 * Builds a USCC for an enterprise registered by the market regulator of `regionCode`,
 * around an 8-character organisation-code body drawn from the USCC character set.
 */
export function buildUscc(regionCode: string, orgBody8: string, authority = '9', category = '1'): string {
  if (!/^\d{6}$/.test(regionCode)) throw new RangeError('a region code is 6 digits');
  for (const c of orgBody8) {
    if (!USCC_CHARSET.includes(c)) throw new RangeError(`'${c}' cannot appear in a USCC`);
  }
  const orgCode = orgBody8 + orgCodeCheckCharacter(orgBody8);
  const first17 = authority + category + regionCode + orgCode;
  return first17 + usccCheckCharacter(first17);
}
