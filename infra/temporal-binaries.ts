/**
 * Where the Temporal CLI (dev server) and the time-skipping test server live: the environment
 * variable if set, else the project-local install of scripts/install-temporal.sh, else PATH.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const PROJECT_BIN = path.resolve(__dirname, '..', '.temporal', 'bin');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && executable(candidate)) return candidate;
  }
  return undefined;
}

function resolveBinary(envVar: string, name: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const local = path.join(PROJECT_BIN, name);
  if (executable(local)) return local;
  const found = onPath(name);
  if (found) return found;
  throw new Error(`${name} not found: run 'npm run setup' (installs it into .temporal/bin) or set ${envVar}`);
}

export function temporalCliPath(): string {
  return resolveBinary('TEMPORAL_CLI_PATH', 'temporal');
}

export function temporalTestServerPath(): string {
  return resolveBinary('TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server');
}
