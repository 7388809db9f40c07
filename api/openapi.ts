/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
import { z } from 'zod';
import { applicationSchema } from '../domain/application';
import { documentAuthorization } from '../security/authorize';
import { codecBodySchema } from '../security/codec-server';
import { APPLICATION_STATES, ENDED_IN_TEMPORAL_STATES } from '../domain/status';
import { STEP_IDS } from '../domain/steps';
import { agencyCallbackSchema } from './agency-callback';
import { STATUS_SCHEMAS } from './openapi-status';
import { abortBody, correctionBody, reviewBody, stepBody, withdrawBody } from './routes/actions';
import { listQuerySchema } from './routes/operator';
import { SLA_LEVELS } from '../domain/sla';

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: {
          type: 'string',
          description:
            "In the caller's language: Chinese (zh-CN) unless Accept-Language prefers English (en). The answers to agencies' callbacks, the codec's (/codec/) and the due-date calculator's are in English. Programs read `code`",
        },
        requestId: { type: 'string' },
        issues: {
          type: 'array',
          items: {
            type: 'object',
            required: ['path', 'code', 'message'],
            properties: { path: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;

/** What refuses an operator's retry or skip of a step (409). */
const STEP_REFUSALS =
  'APPLICATION_FINISHED, STEP_NOT_IN_INCIDENT (also a step waiting for its agency, when the body says onlyInIncident)';

function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

/**
 * What the body parsing in front of every route with a body refuses (api/errors.ts, security/input.ts), by status: the
 * JSON parser's own failures, and a body nested too deep (refused after parsing, except on /codec/*, whose routes parse
 * their own bodies).
 */
const BODY_REFUSALS = {
  400: 'MALFORMED_JSON (a body that is not valid JSON), REQUEST_UNREADABLE (a request whose body could not be read: cut short, or not as long as its Content-Length)',
  tooDeep: 'BODY_TOO_DEEP (past 32 levels of nesting; issues names where)',
  415: 'UNSUPPORTED_MEDIA_TYPE (a body that is not application/json), UNSUPPORTED_ENCODING (a charset or Content-Encoding the parser does not read)',
  413: (limit: string) => `Body larger than ${limit} (BODY_TOO_LARGE)`,
};

/** An Idempotency-Key refused (api/app.ts, api/routes/actions.ts). */
const KEY_INVALID = 'IDEMPOTENCY_KEY_INVALID (an Idempotency-Key empty or longer than 200 characters)';

/**
 * The fields of an application that answers mask unless an operator reveals them (security/masking.ts): ID and mobile
 * numbers and e-mail addresses, and the free text that may quote them.
 */
const MASKED_FIELDS: Record<string, string> = {
  idNumber: 'ID number, masked (3601**********1236) unless revealed',
  phone: 'Mobile number, masked (138****0001) unless revealed',
  email: 'E-mail address, masked (z***@example.com) unless revealed',
  address: 'ID and mobile numbers and e-mail addresses quoted in it masked unless revealed',
  branch: 'ID and mobile numbers and e-mail addresses quoted in it masked unless revealed',
};

/**
 * The application's JSON Schema as answers show it: each masked field a plain string, since a masked value (`z***@…`)
 * fails the rules a submitted one must meet.
 */
function maskedView(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(maskedView);
  if (schema === null || typeof schema !== 'object') return schema;
  const view = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, maskedView(value)]));
  const properties = (schema as { properties?: unknown }).properties;
  if (properties && typeof properties === 'object') {
    view.properties = Object.fromEntries(
      Object.entries(properties).map(([name, value]) => [
        name,
        MASKED_FIELDS[name] ? { type: 'string', description: MASKED_FIELDS[name] } : maskedView(value),
      ]),
    );
  }
  return view;
}

function jsonResponse(description: string, schemaName: string) {
  return { description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName}` } } } };
}

/** A request schema as JSON Schema, from the zod schema that validates it. */
function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const json: Record<string, unknown> = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  });
  delete json.$schema;
  return json;
}

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: { type: 'string', minLength: 1, maxLength: 200 },
  description:
    'Makes the action idempotent: a repeated request of the same action (and step) with the same key and body returns the first result, also once the application has ended; the same key with another body is 409 IDEMPOTENCY_KEY_REUSED. The key is scoped to the action: the same key sent with another action is another action.',
};

const acceptLanguage = {
  name: 'Accept-Language',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: "zh (default) or en: the language of every error's message, the body's problems among them",
};

/** The answer of a running application held up by a fault of Kaiban's (README, "Kaiban's own faults"). */
const STALLED =
  "APPLICATION_STALLED (Retry-After: 60): the application's workflow task fails in Kaiban's code and is being retried until a corrected worker is deployed; nothing done has been undone, and it goes on by itself then (an action is refused before it is sent)";

/** What a read of a running application answers when it cannot be read now. */
const readUnavailable = errorResponse(`TEMPORAL_UNAVAILABLE (Retry-After: 5): Temporal cannot be reached. ${STALLED}`);

/** An operator's or applicant's action: a Temporal update, accepted or refused at once. */
function action(summary: string, body: z.ZodType, parameters: unknown[], refusals: string, bodyRequired = true) {
  return {
    post: {
      summary,
      parameters: [...parameters, idempotencyKey, acceptLanguage],
      requestBody: { required: bodyRequired, content: { 'application/json': { schema: jsonSchemaOf(body) } } },
      responses: {
        '200': jsonResponse('Accepted (or the first result of the same Idempotency-Key)', 'ActionResult'),
        '400': errorResponse(
          `A bad body (VALIDATION_FAILED, issues by field and rule), or what the action needs is missing; ${BODY_REFUSALS[400]}, ${BODY_REFUSALS.tooDeep}, ${KEY_INVALID}`,
        ),
        '404': errorResponse('Unknown application'),
        '409': errorResponse(
          `Not possible now: ${refusals}; or IDEMPOTENCY_KEY_REUSED (the key was sent before with another body for this action)`,
        ),
        '413': errorResponse(BODY_REFUSALS[413]('64 kB')),
        '415': errorResponse(BODY_REFUSALS[415]),
        '503': errorResponse(
          `TEMPORAL_UNAVAILABLE: Temporal cannot be reached, or the workflow has not taken the action within 30 s (no worker running); it may still be taken once a worker is back, and sent again with the same Idempotency-Key it is taken once. ${STALLED}`,
        ),
      },
    },
  };
}

/** The 500 any route answers on an unexpected failure (api/errors.ts), on every operation. */
function withInternalError<T extends Record<string, unknown>>(doc: T): T {
  const paths = doc.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      (operation.responses ??= {})['500'] ??= { $ref: '#/components/responses/Internal' };
    }
  }
  return doc;
}

const stringMap = { type: 'object', additionalProperties: { type: 'integer' } };

/** One counting rule's answer of the due-date calculator (api/routes/calendar.ts). */
const calendarRuleResult = {
  type: 'object',
  required: ['rule', 'due', 'workingTimeMs'],
  properties: {
    rule: { type: 'string', enum: ['working-time', 'next-day'] },
    days: {
      type: 'integer',
      description:
        'next-day only: the working days counted (the days asked for, or the budget in working days, rounded up)',
    },
    due: { type: 'string', format: 'date-time', description: 'The due instant, ISO 8601 with +08:00' },
    workingTimeMs: { type: 'integer', description: 'Working time from `from` to `due`, in milliseconds' },
  },
  additionalProperties: false,
} as const;

export function buildOpenApiDocument(): Record<string, unknown> {
  // The schema's meta id makes zod answer { $ref: '#/$defs/Application', $defs }; in OpenAPI a '#/…' reference points
  // at the document root, so the definitions move into components.schemas and the references follow them.
  const generated = z.toJSONSchema(applicationSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  const { $defs: definitions = {}, ...root } = JSON.parse(
    JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as Record<string, unknown> & { $defs?: Record<string, unknown> };
  delete root.$schema;
  const application = definitions.Application ?? root;
  const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^kb-[0-9a-f]{32}$' } };
  const revealParams = [
    {
      name: 'reveal',
      in: 'query',
      required: false,
      schema: { type: 'string', enum: ['true', 'false'] },
      description:
        'Operators only: show ID and mobile numbers, e-mail addresses and personal data quoted in free text unmasked (logged)',
    },
    {
      name: 'reason',
      in: 'query',
      required: false,
      schema: { type: 'string', minLength: 5, maxLength: 500 },
      description: 'Why the reveal is needed; required with reveal=true',
    },
  ];
  // Checked in this order (security/masking.ts): the parameters, the caller's role, the reason.
  const revealRefusals = {
    '400': errorResponse(
      'REVEAL_INVALID: reveal other than true or false, a reason shorter than 5 or longer than 500 characters (trimmed), or either given twice; REVEAL_REASON_REQUIRED: reveal=true without a reason',
    ),
    '403': errorResponse('reveal=true from an applicant or a supervisor (REVEAL_FORBIDDEN): only operators reveal'),
  };
  // Security requirements, roles and 401/403 answers come from the authorization table.
  const doc = documentAuthorization({
    openapi: '3.1.0',
    info: {
      title: 'Kaiban API',
      version: '1.0.0',
      description: 'One-working-day business start-up (开办): submit an application, follow its steps.',
    },
    paths: {
      '/v1/applications': {
        get: {
          summary:
            "Applications through Temporal visibility: those running first, newest first, then those ended, last ended first. Staff see every application; an applicant sees only their own (those their token's subject submitted), with the same filters and paging",
          parameters: [
            ...Object.entries(
              (jsonSchemaOf(listQuerySchema).properties ?? {}) as Record<string, Record<string, unknown>>,
            ).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
            acceptLanguage,
          ],
          responses: {
            '200': jsonResponse('One page; nextPageToken is null on the last', 'ApplicationPage'),
            '400': errorResponse(
              "Bad filters: VALIDATION_FAILED, issues by field and rule. Besides the schema's rules, an issue NEEDS_SEARCH_ATTRIBUTES names a filter other than an id where TEMPORAL_SEARCH_ATTRIBUTES=false, and PAGE_TOKEN_INVALID a pageToken given out for other filters or to someone else",
            ),
            '501': errorResponse(
              "An applicant's own applications are found by Kaiban's search attributes, which this deployment does not use (TEMPORAL_SEARCH_ATTRIBUTES=false): SEARCH_ATTRIBUTES_OFF",
            ),
          },
        },
        post: {
          summary: 'Submit an application',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 200 },
            },
            acceptLanguage,
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Application' } } },
          },
          responses: {
            '202': {
              description: 'Accepted; the application runs. A repeated Idempotency-Key returns the same id.',
              headers: {
                Location: { description: 'The application: /v1/applications/{id}', schema: { type: 'string' } },
                'Idempotent-Replayed': {
                  description: 'true when a repeated Idempotency-Key returned the application it started before',
                  schema: { type: 'string', enum: ['true'] },
                },
              },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } },
            },
            '400': errorResponse(
              `Invalid application (VALIDATION_FAILED): every problem listed in issues by field path and rule (besides the schema's: MASKED_VALUE, ITEM_DUPLICATE, DATE_IN_PAST, DATE_TOO_FAR (a bank date more than 90 days ahead), NAME_CHARACTERS, TEXT_CHARACTERS, SHAREHOLDER_COUNT); ${BODY_REFUSALS[400]}, ${BODY_REFUSALS.tooDeep}, ${KEY_INVALID}`,
            ),
            '409': errorResponse('The Idempotency-Key was used for a different application (IDEMPOTENCY_KEY_REUSED)'),
            '413': errorResponse(BODY_REFUSALS[413]('64 kB')),
            '415': errorResponse(`${BODY_REFUSALS[415]}; also a request without a body (UNSUPPORTED_MEDIA_TYPE)`),
            '429': errorResponse(
              'Too many submissions from this identity or address in the window (RATE_LIMITED); Retry-After says when to try again',
            ),
          },
        },
      },
      '/v1/applications/{id}': {
        get: {
          summary: 'Status of an application: steps, times, attempts, outputs, results',
          parameters: [idParam, ...revealParams, acceptLanguage],
          responses: {
            '200': jsonResponse(
              `The whole picture. \`endedInTemporal\` (${ENDED_IN_TEMPORAL_STATES.join(', ')}) when Temporal closed the workflow without Kaiban: the rest is the status as of that moment, and no compensation ran.`,
              'ApplicationStatus',
            ),
            ...revealRefusals,
            '404': errorResponse('Unknown application'),
            '503': readUnavailable,
          },
        },
      },
      '/v1/applications/{id}/application': {
        get: {
          summary:
            'The application as submitted, with the corrections made since: the materials a reviewer checks (personal data masked unless revealed)',
          parameters: [idParam, ...revealParams, acceptLanguage],
          responses: {
            '200': {
              description: 'The materials',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['id', 'application'],
                    properties: {
                      id: { type: 'string' },
                      application: { $ref: '#/components/schemas/ApplicationAsRead' },
                    },
                  },
                },
              },
            },
            ...revealRefusals,
            '404': errorResponse('Unknown application'),
            '503': readUnavailable,
          },
        },
      },
      '/v1/applications/{id}/withdraw': action(
        'The applicant withdraws: completed steps are undone',
        withdrawBody,
        [idParam],
        'APPLICATION_FINISHED, BUSINESS_STARTED (the archive step has started: every procedure is done, the business started)',
        false,
      ),
      '/v1/applications/{id}/corrections': action(
        "The applicant answers a correction request with the changed sections (merged, then validated whole; the sections sent as they are confirm them). 400 issues besides the schema's: NOTHING_CHANGED (an empty body), and on what the answer changes MASKED_VALUE (a masked number sent back), ITEM_DUPLICATE, DATE_IN_PAST, DATE_TOO_FAR, NAME_CHARACTERS, TEXT_CHARACTERS, SHAREHOLDER_COUNT (on a change of the entity type or the shareholders)",
        correctionBody,
        [idParam],
        'APPLICATION_FINISHED, NO_CORRECTION_PENDING',
      ),
      '/v1/applications/{id}/review': action(
        'An operator decides a manual review (a name the market regulator refused cannot be approved: request a correction of company.name, or reject)',
        reviewBody,
        [idParam],
        'APPLICATION_FINISHED, NO_REVIEW_PENDING, NAME_REFUSED',
      ),
      '/v1/applications/{id}/abort': action(
        'An operator aborts the application: completed steps are undone',
        abortBody,
        [idParam],
        'APPLICATION_FINISHED, BUSINESS_STARTED (the archive step has started: every procedure is done, the business started)',
      ),
      ...Object.fromEntries(
        (['retry', 'skip'] as const).map((verb) => [
          `/v1/applications/{id}/steps/{step}/${verb}`,
          action(
            verb === 'retry'
              ? 'An operator retries a step in an incident, or one waiting for its agency (steps[].waitingSince: the agency is asked again now, with its patience anew) — or the undo of that step the agency refused (compensations[].state incident): while the application ends, or the withdrawal of our filing for a step done offline, also after the application completed'
              : "An operator marks a step in an incident, or one waiting for its agency (steps[].waitingSince; our filing is withdrawn), done offline (a reason, and what the steps after it file with: output.uscc for the license, output.reservationId for the name, output.seals [{ recordId }] for the seal — 400 OUTPUT_REQUIRED naming the field without it; the archive, whose message platform will not take the notification: the applicant told otherwise, the dossier sealed without notifying, results.dossier.applicantToldOffline) — or the undo the agency refused (also a done-offline step's withdrawal after the application completed), or the undo of a step done offline (UNDO_OFFLINE, when the application ends unsuccessfully), undone offline (a reason)",
            stepBody,
            [idParam, { name: 'step', in: 'path', required: true, schema: { type: 'string', enum: [...STEP_IDS] } }],
            verb === 'retry'
              ? `${STEP_REFUSALS}, OFFLINE_UNDO (the undo of a step done offline: only skip applies)`
              : STEP_REFUSALS,
            false,
          ),
        ]),
      ),
      '/v1/stats': {
        get: {
          summary: "The supervisors' dashboard figures, from Temporal visibility",
          parameters: [acceptLanguage],
          responses: {
            '200': jsonResponse('The figures', 'Stats'),
            '501': errorResponse(
              "Counted from Kaiban's search attributes, which this deployment does not use (TEMPORAL_SEARCH_ATTRIBUTES=false): SEARCH_ATTRIBUTES_OFF",
            ),
          },
        },
      },
      '/v1/agency-callbacks/{agency}': {
        post: {
          summary: "An agency reports its decision (signed with the agency's secret)",
          parameters: [
            {
              name: 'agency',
              in: 'path',
              required: true,
              schema: { type: 'string', enum: ['market', 'police', 'tax', 'hrss', 'fund', 'bank'] },
            },
            {
              name: 'X-Agency-Timestamp',
              in: 'header',
              required: true,
              schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
              description: "When the agency signed the callback, Unix seconds; within 5 minutes of the API's clock",
            },
            {
              name: 'X-Agency-Signature',
              in: 'header',
              required: true,
              schema: { type: 'string', pattern: '^sha256=[0-9a-f]{64}$' },
              description:
                'HMAC-SHA256 of "<X-Agency-Timestamp>.<raw body>" with the agency\'s secret, hex. The same signed callback again within the 5 minutes is answered 204 without effect',
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchemaOf(agencyCallbackSchema) } },
          },
          responses: {
            '204': {
              description:
                'Taken: signalled to the application, or nothing to do (a "pending" report, or a decision the application already has from the agency\'s answer or an earlier callback). A callback that arrives before the agency\'s answer to the filing has reached the application is held up to 4 s for that answer, then signalled if it is still missing.',
            },
            '400': errorResponse(
              `Not a callback body, or an approval without what the next steps need: the name's result.reservationId, the license's valid result.uscc, the seal's result.seals[].recordId (CALLBACK_INVALID, issues naming the field and rule); before the signature is checked, ${BODY_REFUSALS[400]}, ${BODY_REFUSALS.tooDeep}`,
            ),
            '401': errorResponse(
              'A signature that does not match the timestamp and body (SIGNATURE_INVALID), or a timestamp more than 5 minutes off (SIGNATURE_STALE)',
            ),
            '403': errorResponse("reference.step is another agency's procedure (AGENCY_MISMATCH)"),
            '404': errorResponse('No such application'),
            '409': errorResponse("The ticket is another step's in this application (TICKET_MISMATCH)"),
            '413': errorResponse(BODY_REFUSALS[413]('64 kB')),
            '415': errorResponse(BODY_REFUSALS[415]),
            '503': errorResponse(
              'Temporal cannot be reached (TEMPORAL_UNAVAILABLE); Retry-After says when to send it again',
            ),
          },
        },
      },
      '/v1/calendar/due': {
        get: {
          summary: 'Due instant of a working-time budget on the official calendar',
          parameters: [
            { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
            {
              name: 'hours',
              in: 'query',
              required: true,
              schema: { type: 'number', exclusiveMinimum: 0, maximum: 10000 },
              description: 'Working hours, at most 6 decimals',
            },
            {
              name: 'rule',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['working-time', 'next-day'] },
            },
            {
              name: 'days',
              in: 'query',
              required: false,
              schema: { type: 'integer', minimum: 1, maximum: 3650 },
              description: 'Whole working days, only with rule=next-day (default: the budget in working days)',
            },
          ],
          responses: {
            '200': jsonResponse(
              'The due instant by the rule asked for, and by the other rule for comparison',
              'CalendarDue',
            ),
            '400': errorResponse(
              'Bad instant, hours, rule or days, or an unknown parameter (VALIDATION_FAILED, issues by parameter)',
            ),
            '422': {
              description:
                'The rule asked for needs a year whose official schedule is not deployed (CALENDAR_YEAR_MISSING; error.year names it)',
              content: {
                'application/json': {
                  schema: {
                    allOf: [
                      { $ref: '#/components/schemas/Error' },
                      {
                        type: 'object',
                        properties: {
                          error: {
                            type: 'object',
                            required: ['year'],
                            properties: {
                              code: { const: 'CALENDAR_YEAR_MISSING' },
                              year: { type: 'integer', description: 'The year without an official schedule' },
                            },
                          },
                        },
                      },
                    ],
                  },
                },
              },
            },
          },
        },
      },
      ...Object.fromEntries(
        (['encode', 'decode'] as const).map((verb) => [
          `/codec/${verb}`,
          {
            post: {
              summary: `The Temporal UI's remote codec: ${verb === 'encode' ? 'seals' : 'opens'} payloads with the worker's AES-GCM keys (audit-logged; the browser's origin must be in CODEC_CORS_ORIGINS)`,
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchemaOf(codecBodySchema) } },
              },
              responses: {
                '200': {
                  description: 'The payloads, in the same order',
                  content: { 'application/json': { schema: jsonSchemaOf(codecBodySchema) } },
                },
                '400': errorResponse(
                  `Not a codec body (CODEC_BODY_INVALID), or payloads the keys cannot open (CODEC_FAILED); ${BODY_REFUSALS[400]}`,
                ),
                '413': errorResponse(BODY_REFUSALS[413]('4 MB')),
                '415': errorResponse(BODY_REFUSALS[415]),
              },
            },
          },
        ]),
      ),
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/console/config.json': {
        get: {
          summary:
            "The operator console's settings: whether it offers the development sign-in (the embedded default, called from this machine), its roles, the token claim that holds the role",
          responses: {
            '200': {
              description: 'The settings',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['devSignIn', 'roles', 'roleClaim'],
                    properties: {
                      devSignIn: { type: 'boolean' },
                      roles: { type: 'array', items: { type: 'string', enum: ['operator', 'supervisor'] } },
                      roleClaim: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
      '/console/dev-token': {
        post: {
          summary:
            'The embedded default only, called from this machine: a development token for a console role (subject dev-<role>); 404 anywhere else',
          parameters: [acceptLanguage],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['role'],
                  properties: { role: { type: 'string', enum: ['operator', 'supervisor'] } },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'A bearer token',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['token', 'role', 'subject', 'expiresIn'],
                    properties: {
                      token: { type: 'string' },
                      role: { type: 'string' },
                      subject: { type: 'string' },
                      expiresIn: { type: 'string' },
                    },
                  },
                },
              },
            },
            '400': errorResponse(
              `role is not a console role (VALIDATION_FAILED); ${BODY_REFUSALS[400]}, ${BODY_REFUSALS.tooDeep}`,
            ),
            '404': errorResponse('Not the embedded default, or not called from this machine'),
            '413': errorResponse(BODY_REFUSALS[413]('64 kB')),
            '415': errorResponse(BODY_REFUSALS[415]),
          },
        },
      },
      '/metrics': {
        get: {
          summary:
            'Prometheus metrics: agency callbacks, open applications by SLA level and by task, SLA alerts and completion times (a worker run on its own serves its SLA series at WORKER_METRICS_PORT)',
          parameters: [acceptLanguage],
          responses: { '200': { description: 'Prometheus text exposition format', content: { 'text/plain': {} } } },
        },
      },
      '/readyz': {
        get: {
          summary:
            "Readiness: Temporal reachable, the namespace there, Kaiban's search attributes in it; the calendar years",
          responses: {
            '200': { description: 'Ready: { ready: true, temporal: "reachable", namespace, calendar }' },
            '503': {
              description:
                'Not ready: temporal "unreachable" or "namespace-missing", or searchAttributesMissing (names); submissions would fail',
            },
          },
        },
      },
    },
    components: {
      // Unauthorized: written by documentAuthorization (security/authorize.ts), with the bearer routes' 401.
      responses: {
        Internal: errorResponse(
          'An unexpected failure (INTERNAL); the message gives no detail: requestId finds it in the logs',
        ),
      },
      schemas: {
        ...definitions,
        ...STATUS_SCHEMAS,
        Application: application,
        ApplicationAsRead: {
          ...(maskedView(application) as Record<string, unknown>),
          description:
            'The application as GET /v1/applications/{id}/application answers it: ID and mobile numbers, e-mail addresses and the free text that may quote them are masked unless an operator reveals them (reveal=true), so those fields are plain strings here',
        },
        CalendarDue: {
          type: 'object',
          required: ['from', 'hours', 'rule', 'due', 'workingTimeMs', 'officeHours', 'alternative'],
          properties: {
            from: { type: 'string', format: 'date-time', description: 'The instant asked about, with +08:00' },
            hours: { type: 'number', description: 'The working hours asked for' },
            ...calendarRuleResult.properties,
            officeHours: {
              type: 'array',
              description: "The calendar's working periods of a working day, Shanghai time",
              items: {
                type: 'object',
                required: ['start', 'end'],
                properties: {
                  start: { type: 'string', pattern: '^[0-9]{2}:[0-9]{2}$' },
                  end: { type: 'string', pattern: '^[0-9]{2}:[0-9]{2}$', description: "Exclusive; '24:00' allowed" },
                },
                additionalProperties: false,
              },
            },
            alternative: {
              description:
                "The other rule's answer for comparison, or, when it needs a year whose official schedule is not deployed, the rule and that error (CALENDAR_YEAR_MISSING): the answer stands",
              oneOf: [
                calendarRuleResult,
                {
                  type: 'object',
                  required: ['rule', 'error'],
                  properties: {
                    rule: calendarRuleResult.properties.rule,
                    error: {
                      type: 'object',
                      required: ['code', 'message'],
                      properties: { code: { type: 'string' }, message: { type: 'string' } },
                      additionalProperties: false,
                    },
                  },
                  additionalProperties: false,
                },
              ],
            },
          },
          additionalProperties: false,
        },
        Accepted: {
          type: 'object',
          required: ['id', 'status'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: ['accepted'] },
            links: { type: 'object' },
          },
        },
        Error: errorSchema,
        ActionResult: {
          type: 'object',
          required: ['actionId', 'action', 'accepted', 'at', 'status'],
          properties: {
            actionId: {
              type: 'string',
              description:
                'The action and its Idempotency-Key (`withdraw:<key>`, `retry:tax:<key>`), or a new id without one',
            },
            action: { type: 'string' },
            accepted: { const: true },
            at: { type: 'string', format: 'date-time' },
            inputHash: { type: 'string', description: 'Digest of the request, when it came with an Idempotency-Key' },
            status: {
              type: 'string',
              enum: [...APPLICATION_STATES],
              description:
                'Right after the action; for a repeat answered after the application ended, the state it ended in',
            },
          },
        },
        ApplicationSummary: {
          type: 'object',
          required: ['id', 'status', 'pendingTasks', 'breached'],
          properties: {
            id: { type: 'string' },
            status: { type: 'string', enum: [...APPLICATION_STATES, 'unknown'] },
            companyName: { type: 'string' },
            district: { type: 'string' },
            pendingTasks: {
              type: 'array',
              items: { type: 'string' },
              description: 'review, correction, incident:<step>',
            },
            slaLevel: { type: 'string', enum: [...SLA_LEVELS] },
            dueAt: { type: 'string', format: 'date-time' },
            breached: { type: 'array', items: { type: 'string' }, description: 'Scopes past their budget' },
            submittedAt: { type: 'string', format: 'date-time' },
            closedAt: { type: 'string', format: 'date-time' },
            workingMsLeft: {
              type: 'number',
              description:
                'Running applications whose SLA clock runs: working time to dueAt, negative when overdue. Absent while the clock is paused (a correction awaited), once it stopped (compensating, ended) and without a deadline',
            },
            endedInTemporal: {
              type: 'string',
              enum: [...ENDED_IN_TEMPORAL_STATES],
              description:
                'Temporal closed the workflow without Kaiban (no compensation ran); status is the last it had. Such an application counts as open nowhere.',
            },
            unreadable: {
              type: 'string',
              description:
                'Without search attributes (TEMPORAL_SEARCH_ATTRIBUTES=false) each item is read from its status: why this one could not be (status is then unknown)',
            },
          },
        },
        ApplicationPage: {
          type: 'object',
          required: ['items', 'nextPageToken'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/ApplicationSummary' } },
            nextPageToken: { type: ['string', 'null'] },
          },
        },
        Stats: {
          type: 'object',
          required: ['total', 'byStatus', 'openBySlaLevel', 'openTotal', 'endedInTemporal'],
          properties: {
            total: { type: 'integer' },
            byStatus: { ...stringMap, description: 'running and compensating count only workflows still running' },
            openTotal: { type: 'integer' },
            openBySlaLevel: stringMap,
            openByTask: {
              ...stringMap,
              description:
                'Applications waiting for a person: review, correction, incident (a step, or an undo the agency refused — also a completed application whose done-offline step’s withdrawal was refused)',
            },
            breachesByScope: stringMap,
            breachesByDistrict: stringMap,
            endedInTemporal: {
              type: 'integer',
              description: 'Closed in Temporal itself while open for Kaiban (terminated, timed out, failed)',
            },
            completedToday: { type: 'integer' },
            completedThisWeek: { type: 'integer' },
            completedByDay: { type: 'array', items: { type: 'object' } },
            completion: {
              type: 'object',
              description: 'Working time to completion: within one working day, median, p95',
            },
            calendarIssues: {
              type: 'array',
              description:
                'What staff must see to before deadlines fail: CALENDAR_NEXT_YEAR_MISSING (a month or less before a year whose official schedule is not deployed), CALENDAR_YEAR_MISSING (the current year: deadlines cannot be computed)',
              items: {
                type: 'object',
                required: ['level', 'code', 'year', 'message'],
                properties: {
                  level: { type: 'string', enum: ['warning', 'error'] },
                  code: { type: 'string' },
                  year: { type: 'integer' },
                  message: { type: 'string' },
                },
              },
            },
            generatedAt: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
  });
  return withInternalError(doc);
}
