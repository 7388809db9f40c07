import { createHash } from 'node:crypto';

/**
 * Deterministic randomness: every value is a SHA-256 of the seed and the parts that name it
 * (agency, idempotency key, purpose, draw number), so the same seed and the same requests give the
 * same outcomes whatever the arrival order.
 */
export class SeededRandom {
  constructor(private readonly seed: string) {}

  private digest(parts: readonly (string | number)[]): Buffer {
    return createHash('sha256')
      .update([this.seed, ...parts].map(String).join('|'), 'utf8')
      .digest();
  }

  /** A number in [0, 1). */
  roll(...parts: (string | number)[]): number {
    return this.digest(parts).readUIntBE(0, 6) / 2 ** 48;
  }

  /** An integer in [0, size). */
  index(size: number, ...parts: (string | number)[]): number {
    return Math.floor(this.roll(...parts) * size);
  }

  /** `length` characters drawn from `charset` (length at most 30). */
  chars(charset: string, length: number, ...parts: (string | number)[]): string {
    let value = BigInt('0x' + this.digest(parts).toString('hex'));
    const base = BigInt(charset.length);
    let out = '';
    for (let i = 0; i < length; i++) {
      out += charset[Number(value % base)]!;
      value /= base;
    }
    return out;
  }

  digits(length: number, ...parts: (string | number)[]): string {
    return this.chars('0123456789', length, ...parts);
  }
}
