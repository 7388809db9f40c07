/**
 * The one configuration schema: zod over process.env, read once at start-up. Every variable is
 * listed in README.md; docker-compose.yml uses the same names.
 */
import { z } from 'zod';
import { AGENCY_IDS, type AgencyId } from '../domain/steps';
import { COMPOSE_DEV_AGENCY_CALLBACK_SECRET, DEV_AGENCY_CALLBACK_SECRET } from '../security/dev-secrets';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * Callback secrets anyone can read (this file's default, docker-compose.yml's): fine on a laptop, refused in
 * production, where they would let anyone sign an agency's decision.
 */
const DEV_CALLBACK_SECRETS = [DEV_AGENCY_CALLBACK_SECRET, COMPOSE_DEV_AGENCY_CALLBACK_SECRET] as const;
/** An agencies' callback HMAC key: any length 8 up in development; in production 32 up (the strength of the hash). */
const MIN_CALLBACK_SECRET = 8;
const MIN_PRODUCTION_CALLBACK_SECRET = 32;

const envSchema = z.object({
  // Only these: a typo (`prod`) would have run a deployment on generated development secrets.
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: port.default(3000),
  HOST: z.string().default('127.0.0.1'),
  KAIBAN_PUBLIC_URL: z.url().optional(),
  KAIBAN_DATA_DIR: z.string().default('data'),

  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default('kaiban'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  /** How long the embedded server keeps a closed application readable (its status, results, dossier): 10 years. */
  TEMPORAL_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(3650),
  /** Set false for a namespace without Kaiban's custom search attributes (see infra/search-attributes.ts). */
  TEMPORAL_SEARCH_ATTRIBUTES: bool.default(true),

  /** Default: the simulator on this machine, at SIMULATOR_PORT. */
  AGENCY_BASE_URL: z.url().optional(),
  AGENCY_MARKET_URL: z.url().optional(),
  AGENCY_POLICE_URL: z.url().optional(),
  AGENCY_TAX_URL: z.url().optional(),
  AGENCY_HRSS_URL: z.url().optional(),
  AGENCY_FUND_URL: z.url().optional(),
  AGENCY_BANK_URL: z.url().optional(),
  AGENCY_CALLBACK_SECRET: z.string().min(MIN_CALLBACK_SECRET).default(DEV_CALLBACK_SECRETS[0]),
  /**
   * The city's message platform the archive step notifies the applicant through (adapters/notification-client.ts);
   * `off` sends nothing. Unset: the simulator's on this machine while it stands in for every agency (no AGENCY_*URL
   * set, as `npm start` runs), else none — personal data go to no address nobody configured.
   */
  APPLICANT_NOTIFY_URL: z.union([z.literal('off'), z.url()]).optional(),
  // Undo calls run in activities of one minute (workflows/businessStartup.ts): a longer call would time out there.
  AGENCY_TIMEOUT_MS: z.coerce.number().int().positive().max(50_000).default(10_000),
  AGENCY_POLL_INITIAL_SECONDS: z.coerce.number().positive().default(30),
  AGENCY_POLL_MAX_SECONDS: z.coerce.number().positive().default(900),
  AGENCY_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(8),
  AGENCY_RETRY_MAX_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  AGENCY_POLL_FAILURES_BEFORE_INCIDENT: z.coerce.number().int().min(1).max(100).default(3),
  AGENCY_UNDO_ATTEMPTS_BEFORE_INCIDENT: z.coerce.number().int().min(1).max(1000).default(12),
  // A filing undecided this long becomes an incident (AGENCY_SILENT): a week of polls is some 7,000 history events,
  // well inside Temporal's limit of 51,200; at most 30 days, and 1,000 polls (loadConfig: the default is shorter when
  // polls are more frequent than every 10 minutes).
  AGENCY_SILENT_INCIDENT_HOURS: z.coerce.number().positive().max(720).optional(),
  // Events an application's history may hold before polls stop and undos wait for an operator alone (Temporal ends a
  // workflow at 51,200, with nothing undone); an application needs a few hundred.
  WORKFLOW_HISTORY_EVENT_BUDGET: z.coerce.number().int().min(100).max(45_000).default(20_000),

  // Worker tuning (worker/worker.ts); the defaults come from bench/ measurements, see README "Benchmarks".
  // 500 cached applications keep a worker (heap capped at 768 MB) under 1 GiB RSS with 10,000 parked.
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(500),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASK_EXECUTIONS: z.coerce.number().int().min(2).default(40),
  WORKER_MAX_CONCURRENT_ACTIVITY_TASK_EXECUTIONS: z.coerce.number().int().min(1).default(100),
  WORKER_REUSE_V8_CONTEXT: bool.default(true),
  // Frames of each stack a workflow records (worker/worker.ts, limitWorkflowStackTraces); Node's default is 10.
  WORKER_WORKFLOW_STACK_TRACE_LIMIT: z.coerce.number().int().min(4).max(100).default(6),

  SIMULATOR_PORT: port.default(4000),
  SIMULATOR_SEED: z.string().default('kaiban'),
  EMBEDDED_SIMULATOR: bool.default(true),

  // The one-working-day SLA: parsed and checked by config/sla.ts; semantics in domain/sla.ts and PRODUCT.md.
  SLA_BUDGETS: z.string().optional(),
  SLA_OFFICE_HOURS: z.string().optional(),
  SLA_COUNTING_RULE: z.enum(['working-time', 'next-day']).default('working-time'),
  SLA_CALENDAR_FILE: z.string().optional(),
  SLA_WEBHOOK_URLS: z.string().optional(),
  SLA_WEBHOOK_SECRET: z.string().min(16).optional(),
  // Each delivery attempt is an activity of one minute (workflows/sla.ts): a longer wait would time out there.
  SLA_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().max(50_000).default(10_000),
  /** A standalone worker serves its metrics (SLA alerts, completion times) at http://HOST:<port>/metrics. */
  WORKER_METRICS_PORT: port.optional(),

  // Security (security/): where the keys come from is explained in security/jwt.ts and security/codec.ts.
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_PUBLIC_KEY: z.string().optional(),
  AUTH_SECRET: z.string().min(32).optional(),
  AUTH_ISSUER: z.string().min(1).default('kaiban'),
  AUTH_AUDIENCE: z.string().min(1).default('kaiban'),
  AUTH_ROLE_CLAIM: z.string().min(1).default('role'),
  KAIBAN_CODEC_KEYS: z.string().optional(),
  KAIBAN_OWNER_INDEX_KEY: z.string().min(32).optional(),
  CODEC_CORS_ORIGINS: z.string().optional(),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().positive().default(60),
  RATE_LIMIT_SUBMISSIONS_PER_IDENTITY: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_SUBMISSIONS_PER_IP: z.coerce.number().int().positive().default(30),
  RATE_LIMIT_REQUESTS_PER_IDENTITY: z.coerce.number().int().positive().default(1200),
  TRUST_PROXY: z.string().optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  publicUrl: string;
  agencyUrls: Record<AgencyId, string>;
  agencyCallbackSecrets: Record<AgencyId, string>;
  /** How long a filing may stay undecided before its step is an incident (AGENCY_SILENT_INCIDENT_HOURS). */
  agencySilenceMs: number;
  /** Where the archive step notifies the applicant (APPLICANT_NOTIFY_URL); undefined: nowhere. */
  applicantNotifyUrl?: string;
}

/** Polls of one filing at the longest interval before it is an incident (loadConfig). */
const MAX_POLLS_BEFORE_SILENCE = 1000;
/** AGENCY_SILENT_INCIDENT_HOURS when unset: a week, or 1,000 polls at AGENCY_POLL_MAX_SECONDS if that is shorter. */
const DEFAULT_SILENCE_MS = 168 * 3_600_000;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A URL as given, without the trailing slashes that would double the one of the paths appended to it. */
const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, '');

/** The host as a URL writes it: an IPv6 address in brackets; a wildcard address as this machine's loopback. */
export function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function loadConfig(given: NodeJS.ProcessEnv = process.env): Config {
  // A variable set but empty (an .env placeholder: `PORT=`) is unset: coerced, it would be port 0 or an empty URL.
  const source = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== '')) as NodeJS.ProcessEnv;
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const agencyUrls = {} as Record<AgencyId, string>;
  const agencyCallbackSecrets = {} as Record<AgencyId, string>;
  const agencyBaseUrl = env.AGENCY_BASE_URL ?? `http://127.0.0.1:${env.SIMULATOR_PORT}`;
  // Whether the simulator on this machine stands in for every agency (the default notification platform follows it).
  let everyAgencyLocal = env.AGENCY_BASE_URL === undefined;
  for (const agency of AGENCY_IDS) {
    const key = agency.toUpperCase();
    const override = source[`AGENCY_${key}_URL`];
    if (override !== undefined) everyAgencyLocal = false;
    agencyUrls[agency] = withoutTrailingSlash(override ?? `${withoutTrailingSlash(agencyBaseUrl)}/agencies/${agency}`);
    const own = given[`AGENCY_${key}_CALLBACK_SECRET`];
    // Set but empty (a placeholder left in an .env file) would be an HMAC key anyone can sign with.
    if (own !== undefined && own.length < MIN_CALLBACK_SECRET) {
      throw new ConfigError(
        `AGENCY_${key}_CALLBACK_SECRET: at least ${MIN_CALLBACK_SECRET} characters (unset it to use AGENCY_CALLBACK_SECRET)`,
      );
    }
    const secret = own ?? env.AGENCY_CALLBACK_SECRET;
    agencyCallbackSecrets[agency] = secret;
    if (env.NODE_ENV !== 'production') continue;
    if ((DEV_CALLBACK_SECRETS as readonly string[]).includes(secret)) {
      throw new ConfigError(
        `AGENCY_CALLBACK_SECRET (or AGENCY_${key}_CALLBACK_SECRET) must be set in production: the development default is public, and anyone could sign ${agency}'s decisions with it`,
      );
    }
    if (secret.length < MIN_PRODUCTION_CALLBACK_SECRET) {
      throw new ConfigError(
        `${own !== undefined ? `AGENCY_${key}_CALLBACK_SECRET` : 'AGENCY_CALLBACK_SECRET'}: at least ${MIN_PRODUCTION_CALLBACK_SECRET} characters in production (a shorter HMAC key can be guessed from one captured callback)`,
      );
    }
  }
  // Each poll of a pending filing writes about 11 history events, and four steps may wait at once: polls at the
  // longest interval for the whole patience must leave an application inside Temporal's 51,200 events.
  const longestPatienceMs = MAX_POLLS_BEFORE_SILENCE * env.AGENCY_POLL_MAX_SECONDS * 1000;
  const hours = env.AGENCY_SILENT_INCIDENT_HOURS;
  if (hours !== undefined && hours * 3_600_000 > longestPatienceMs) {
    throw new ConfigError(
      `AGENCY_SILENT_INCIDENT_HOURS: ${hours} h of polls every AGENCY_POLL_MAX_SECONDS (${env.AGENCY_POLL_MAX_SECONDS} s) is ${Math.ceil((hours * 3600) / env.AGENCY_POLL_MAX_SECONDS)} polls of one filing; at most ${MAX_POLLS_BEFORE_SILENCE} (about 11 history events each, up to four steps at once, within Temporal's limit of 51,200 events): shorten the patience or poll less often`,
    );
  }
  const agencySilenceMs = hours !== undefined ? hours * 3_600_000 : Math.min(DEFAULT_SILENCE_MS, longestPatienceMs);
  const publicUrl = withoutTrailingSlash(env.KAIBAN_PUBLIC_URL ?? `http://${urlHost(env.HOST)}:${env.PORT}`);
  const applicantNotifyUrl =
    env.APPLICANT_NOTIFY_URL === 'off'
      ? undefined
      : env.APPLICANT_NOTIFY_URL !== undefined
        ? withoutTrailingSlash(env.APPLICANT_NOTIFY_URL)
        : everyAgencyLocal
          ? `http://127.0.0.1:${env.SIMULATOR_PORT}/notifications`
          : undefined;
  return { env, publicUrl, agencyUrls, agencyCallbackSecrets, agencySilenceMs, applicantNotifyUrl };
}

export const TASK_QUEUE_DEFAULT = 'kaiban';
