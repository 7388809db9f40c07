/**
 * Secrets of the embedded default (`npm start`): generated on first use into
 * `<KAIBAN_DATA_DIR>/secrets/`, readable by the owner only, never in the repository. A deployment
 * sets the corresponding environment variables instead; in production nothing is generated.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config';

export function isProduction(config: Config): boolean {
  return config.env.NODE_ENV === 'production';
}

/** Reads `<data dir>/secrets/<name>`, creating it with `generate()` the first time. */
export function devSecretFile(config: Config, name: string, variable: string, generate: () => string): string {
  if (isProduction(config)) {
    throw new ConfigError(`${variable} must be set in production (no development secret is generated there)`);
  }
  const dir = path.resolve(config.env.KAIBAN_DATA_DIR, 'secrets');
  const file = path.join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Written aside, then linked into place: when two processes start together (API and worker),
  // exactly one link succeeds and both read the same complete file.
  const draft = `${file}.${randomUUID()}.tmp`;
  writeFileSync(draft, `${generate()}\n`, { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(draft);
  }
  return readFileSync(file, 'utf8').trim();
}
