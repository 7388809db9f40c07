/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
import { z } from 'zod';
import { applicationSchema } from '../domain/application';
import { documentAuthorization } from '../security/authorize';

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
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

function errorResponse(description: string) {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

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
  // Security requirements, roles and 401/403 answers come from the authorization table.
  return documentAuthorization({
    openapi: '3.1.0',
    info: {
      title: 'Kaiban API',
      version: '1.0.0',
      description: 'One-working-day business start-up (开办): submit an application, follow its steps.',
    },
    paths: {
      '/v1/applications': {
        post: {
          summary: 'Submit an application',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 200 },
            },
            {
              name: 'Accept-Language',
              in: 'header',
              required: false,
              schema: { type: 'string' },
              description: 'zh (default) or en for problem messages',
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Application' } } },
          },
          responses: {
            '202': {
              description: 'Accepted; the application runs. A repeated Idempotency-Key returns the same id.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Accepted' } } },
            },
            '400': errorResponse('Invalid application: every problem listed in issues by field path'),
            '409': errorResponse('The Idempotency-Key was used for a different application'),
            '413': errorResponse('Body larger than 64 kB'),
            '415': errorResponse('Body not JSON'),
          },
        },
      },
      '/v1/applications/{id}': {
        get: {
          summary: 'Status of an application: steps, times, attempts, outputs, results',
          parameters: [
            idParam,
            {
              name: 'reveal',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['true', 'false'] },
              description: 'Operators only: show ID and mobile numbers unmasked (logged)',
            },
            {
              name: 'reason',
              in: 'query',
              required: false,
              schema: { type: 'string', minLength: 5, maxLength: 500 },
              description: 'Why the reveal is needed; required with reveal=true',
            },
          ],
          responses: { '200': { description: 'The whole picture' }, '404': errorResponse('Unknown application') },
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
              name: 'X-Agency-Signature',
              in: 'header',
              required: true,
              schema: { type: 'string', pattern: '^sha256=[0-9a-f]{64}$' },
            },
          ],
          responses: {
            '204': {
              description:
                'Taken: signalled to the application, or nothing to do (a "pending" report, or a decision the application already has from the agency\'s answer or an earlier callback). A callback that arrives before the agency\'s answer to the filing has reached the application is held up to 4 s for that answer, then signalled if it is still missing.',
            },
            '401': errorResponse('Bad signature'),
            '404': errorResponse('No such application'),
          },
        },
      },
      '/v1/calendar/due': {
        get: {
          summary: 'Due instant of a working-time budget on the official calendar',
          parameters: [
            { name: 'from', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
            { name: 'hours', in: 'query', required: true, schema: { type: 'number', exclusiveMinimum: 0 } },
            {
              name: 'rule',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['working-time', 'next-day'] },
            },
            { name: 'days', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
          ],
          responses: {
            '200': { description: 'The due instant, ISO 8601 with +08:00' },
            '400': errorResponse('Bad instant or hours'),
            '422': errorResponse('No calendar data for that year'),
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'Alive' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: Temporal reachable',
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
    },
    components: {
      schemas: {
        ...definitions,
        Application: application,
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
      },
    },
  });
}
