import { z } from 'zod';

/** The six agencies the simulator serves, by the id used in its routes. */
export const AGENCY_IDS = ['market', 'police', 'tax', 'hrss', 'fund', 'bank'] as const;
export type AgencyId = (typeof AGENCY_IDS)[number];

/** The procedures each agency offers. */
export const AGENCY_PROCEDURES = {
  market: ['name_reservation', 'establishment_registration'],
  police: ['seal_filing'],
  tax: ['taxpayer_registration'],
  hrss: ['social_insurance_registration'],
  fund: ['fund_account_opening'],
  bank: ['account_appointment'],
} as const satisfies Record<AgencyId, readonly string[]>;
export type Procedure = (typeof AGENCY_PROCEDURES)[AgencyId][number];

export const ALL_PROCEDURES = AGENCY_IDS.flatMap((agency) => AGENCY_PROCEDURES[agency]) as readonly Procedure[];

export function isAgencyId(value: string): value is AgencyId {
  return (AGENCY_IDS as readonly string[]).includes(value);
}

export function offersProcedure(agency: AgencyId, procedure: string): procedure is Procedure {
  return (AGENCY_PROCEDURES[agency] as readonly string[]).includes(procedure);
}

export const DEFAULT_FORBIDDEN_NAME_WORDS = ['中央', '国家', '中华', '全国', '国务院', '赌博', '色情'];
export const DEFAULT_TAKEN_NAMES = ['南昌赣江实业有限公司'];

const rate = z.number().min(0).max(1);
const milliseconds = z.number().int().min(0).max(600_000);

/** Agency settings without defaults, so that a partial of it (a patch) never resets unnamed fields. */
const agencySettingsSchema = z.strictObject({
  /** Delay between filing and decision; 0 decides before the filing is answered. */
  processingMs: milliseconds,
  /** Probability that a call answers 503 AGENCY_UNAVAILABLE and changes nothing. */
  transientFailureRate: rate,
  /** Probability that a call is held back `latencySpikeMs` before it is handled. */
  latencySpikeRate: rate,
  latencySpikeMs: milliseconds,
  /** Delay between handling a filing and answering it: a slow way back (with processingMs 0, the decision's callback
   * leaves before the answer). */
  answerDelayMs: milliseconds,
  /** Probability that a decision's callback is never sent (polling must find the decision). */
  dropCallbackRate: rate,
  callbacks: z.boolean(),
  /** Probability that a filing's decision is AGENCY_REJECTED (drawn once per filing, from the seed and its key). */
  rejectionRate: rate,
  /** Forces every decision of this agency to AGENCY_REJECTED. */
  rejectAll: z.boolean(),
  /** Forces decisions of the listed procedures to AGENCY_REJECTED. */
  rejectProcedures: z.array(z.enum(ALL_PROCEDURES as [Procedure, ...Procedure[]])),
  /** Every undo (cancel) of this agency answers 409 UNDO_REFUSED and changes nothing (a record the agency will not undo). */
  refuseUndo: z.boolean(),
});
export type AgencyConfig = z.output<typeof agencySettingsSchema>;
const agencyPatchSchema = agencySettingsSchema.partial();

export const DEFAULT_AGENCY_CONFIG: AgencyConfig = {
  processingMs: 150,
  transientFailureRate: 0,
  latencySpikeRate: 0,
  latencySpikeMs: 0,
  answerDelayMs: 0,
  dropCallbackRate: 0,
  callbacks: true,
  rejectionRate: 0,
  rejectAll: false,
  rejectProcedures: [],
  refuseUndo: false,
};

function perAgency<T extends z.ZodType>(value: T) {
  return z.strictObject(Object.fromEntries(AGENCY_IDS.map((agency) => [agency, value])) as Record<AgencyId, T>);
}

function optionalPerAgency<T extends z.ZodType>(value: T) {
  const shape = Object.fromEntries(AGENCY_IDS.map((agency) => [agency, value.optional()]));
  return z.strictObject(shape as Record<AgencyId, z.ZodOptional<T>>);
}

const wordList = z.array(z.string().trim().min(1).max(100)).max(1000);
const messagePlatformSchema = z.strictObject({ available: z.boolean() });

export const simulatorConfigSchema = z.strictObject({
  /** Every generated id and every random roll derives from this seed. */
  seed: z.string().min(1).max(200).default('kaiban'),
  /** Base URL the simulator is reachable at; used for e-license links. Relative links when absent. */
  publicUrl: z
    .url({ protocol: /^https?$/ })
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  /** HMAC-SHA256 key per agency for signing callbacks. */
  callbackSecrets: perAgency(z.string().min(1)),
  /** Per agency, the settings to change from DEFAULT_AGENCY_CONFIG. */
  agencies: optionalPerAgency(agencyPatchSchema)
    .default({})
    .transform(
      (patches) =>
        Object.fromEntries(
          AGENCY_IDS.map((agency) => [agency, { ...DEFAULT_AGENCY_CONFIG, ...stripUndefined(patches[agency] ?? {}) }]),
        ) as Record<AgencyId, AgencyConfig>,
    ),
  forbiddenNameWords: wordList.default(DEFAULT_FORBIDDEN_NAME_WORDS),
  takenNames: wordList.default(DEFAULT_TAKEN_NAMES),
  /** The city's message platform (`POST /notifications`): `available: false` answers 503, as an outage would. */
  messagePlatform: messagePlatformSchema.default({ available: true }),
});
export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;
export type SimulatorConfig = z.output<typeof simulatorConfigSchema>;

/** What `PATCH /admin/config` accepts: agency settings merge field by field, lists are replaced. */
export const configPatchSchema = z.strictObject({
  agencies: optionalPerAgency(agencyPatchSchema).optional(),
  forbiddenNameWords: wordList.optional(),
  takenNames: wordList.optional(),
  messagePlatform: messagePlatformSchema.optional(),
});
export type ConfigPatch = z.output<typeof configPatchSchema>;

export function parseSimulatorConfig(input: SimulatorConfigInput): SimulatorConfig {
  return simulatorConfigSchema.parse(input);
}

export function applyConfigPatch(config: SimulatorConfig, patch: ConfigPatch): SimulatorConfig {
  const agencies = { ...config.agencies };
  for (const agency of AGENCY_IDS) {
    const change = patch.agencies?.[agency];
    if (change) agencies[agency] = { ...agencies[agency], ...stripUndefined(change) };
  }
  return {
    ...config,
    agencies,
    forbiddenNameWords: patch.forbiddenNameWords ?? config.forbiddenNameWords,
    takenNames: patch.takenNames ?? config.takenNames,
    messagePlatform: patch.messagePlatform ?? config.messagePlatform,
  };
}

/** The config as shown over HTTP: the callback secrets never leave the process. */
export function publicConfigView(config: SimulatorConfig) {
  return { ...config, callbackSecrets: Object.fromEntries(AGENCY_IDS.map((agency) => [agency, '[redacted]'])) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
