import { z } from 'zod';
import { AGENCY_IDS, type AgencyId } from './config';
import type { StartSimulatorOptions } from './server';
import { DEV_AGENCY_CALLBACK_SECRET } from '../security/dev-secrets';

/** Kaiban's own development default, so the two agree out of the box. */
export const DEFAULT_CALLBACK_SECRET = DEV_AGENCY_CALLBACK_SECRET;

/** Unset and empty variables are the same thing. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const envSchema = z.object({
  SIMULATOR_PORT: optional(z.coerce.number().int().min(0).max(65535)),
  SIMULATOR_HOST: optional(z.string()),
  SIMULATOR_SEED: optional(z.string()),
  SIMULATOR_PUBLIC_URL: optional(z.url({ protocol: /^https?$/ })),
  SIMULATOR_PROCESSING_MS: optional(z.coerce.number().int().min(0).max(600_000)),
  SIMULATOR_TRANSIENT_FAILURE_RATE: optional(z.coerce.number().min(0).max(1)),
  SIMULATOR_REJECTION_RATE: optional(z.coerce.number().min(0).max(1)),
  SIMULATOR_RECORDS_FILE: optional(z.string()),
  AGENCY_CALLBACK_SECRET: optional(z.string()),
  ...Object.fromEntries(AGENCY_IDS.map((agency) => [secretVariable(agency), optional(z.string())])),
  LOG_LEVEL: optional(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
});

function secretVariable(agency: AgencyId): string {
  return `AGENCY_${agency.toUpperCase()}_CALLBACK_SECRET`;
}

export interface SimulatorEnv {
  options: StartSimulatorOptions;
  logLevel: string;
  /** Agencies signing with the well-known development secret (worth a warning). */
  agenciesOnDefaultSecret: AgencyId[];
}

/** Reads the standalone simulator's settings from the environment; throws a ZodError listing every bad variable. */
export function readSimulatorEnv(env: NodeJS.ProcessEnv = process.env): SimulatorEnv {
  const vars = envSchema.parse(env) as z.output<typeof envSchema> & Record<string, string | undefined>;
  const sharedSecret = vars.AGENCY_CALLBACK_SECRET ?? DEFAULT_CALLBACK_SECRET;
  const callbackSecrets = Object.fromEntries(
    AGENCY_IDS.map((agency) => [agency, vars[secretVariable(agency)] ?? sharedSecret]),
  ) as Record<AgencyId, string>;
  const agencySettings = {
    ...(vars.SIMULATOR_PROCESSING_MS !== undefined && { processingMs: vars.SIMULATOR_PROCESSING_MS }),
    ...(vars.SIMULATOR_TRANSIENT_FAILURE_RATE !== undefined && {
      transientFailureRate: vars.SIMULATOR_TRANSIENT_FAILURE_RATE,
    }),
    ...(vars.SIMULATOR_REJECTION_RATE !== undefined && { rejectionRate: vars.SIMULATOR_REJECTION_RATE }),
  };
  return {
    options: {
      port: vars.SIMULATOR_PORT ?? 4000,
      host: vars.SIMULATOR_HOST ?? '127.0.0.1',
      seed: vars.SIMULATOR_SEED ?? 'kaiban',
      publicUrl: vars.SIMULATOR_PUBLIC_URL,
      callbackSecrets,
      agencies: Object.fromEntries(AGENCY_IDS.map((agency) => [agency, agencySettings])),
      recordsFile: vars.SIMULATOR_RECORDS_FILE,
    },
    logLevel: vars.LOG_LEVEL ?? 'info',
    agenciesOnDefaultSecret: AGENCY_IDS.filter((agency) => callbackSecrets[agency] === DEFAULT_CALLBACK_SECRET),
  };
}
