/**
 * The OpenAPI document (GET /openapi.json) against the routes the API serves: every route of the authorization table
 * (security/authorize.ts, which the app registers routes against) but the console's pages and files is documented, with its
 * request body's schema.
 */
import { buildOpenApiDocument } from '../api/openapi';
import { POLICY } from '../security/authorize';
import { maskPersonalFields } from '../security/masking';
import { sampleApplication } from './helpers/fixtures';
import { schemaProblems } from './helpers/openapi';

type Operation = {
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses?: Record<string, unknown>;
  'x-kaiban-roles'?: unknown;
};
const doc = buildOpenApiDocument() as { paths: Record<string, Record<string, Operation>> };
// Every route but the console's pages (a web page and its files); its settings and development sign-in are JSON.
const apiRoutes = POLICY.filter((p) => !['/console', '/console/{*asset}'].includes(p.path));
const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

describe('the OpenAPI document', () => {
  it.each(apiRoutes.map((p) => [`${p.method.toUpperCase()} ${p.path}`, p] as const))(
    'documents %s, with the roles that may call it',
    (_name, policy) => {
      const operation = doc.paths[openApiPath(policy.path)]?.[policy.method];
      expect(operation).toBeDefined();
      if (policy.decision.kind === 'roles') expect(operation?.['x-kaiban-roles']).toEqual(policy.decision.roles);
      // Path parameters are declared.
      for (const [, name] of policy.path.matchAll(/:(\w+)/g)) {
        expect(operation?.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name, in: 'path' })]));
      }
      if (policy.method === 'post') expect(operation?.requestBody).toBeDefined();
      // A route behind a bearer token answers 503 when tokens cannot be checked (security/authorize.ts).
      // and 429 when its caller sends too many requests (security/rate-limit.ts); 401 names the token's codes.
      if (policy.decision.kind === 'roles') {
        expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(['429', '503']));
        expect(operation?.responses?.['401']).toEqual({ $ref: '#/components/responses/Unauthorized' });
        // Its errors are in the caller's language (api/errors.ts), but on /codec/, which answers English.
        if (!policy.path.startsWith('/codec/')) {
          expect(operation?.parameters).toEqual(
            expect.arrayContaining([expect.objectContaining({ name: 'Accept-Language', in: 'header' })]),
          );
        }
      }
      // Any route answers 500 INTERNAL on an unexpected failure.
      expect(operation?.responses?.['500']).toEqual({ $ref: '#/components/responses/Internal' });
    },
  );

  it("gives the list's filters from the schema that validates them, and its item's endedInTemporal", () => {
    const names = doc.paths['/v1/applications']?.get?.parameters?.filter((p) => p.in === 'query').map((p) => p.name);
    expect(names).toEqual(['status', 'sla', 'district', 'task', 'q', 'pageSize', 'pageToken']);
    const schemas = (
      doc as unknown as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } }
    ).components.schemas;
    expect(schemas.ApplicationSummary?.properties.endedInTemporal).toMatchObject({
      enum: ['terminated', 'canceled', 'timed_out', 'failed'],
    });
    expect(schemas.Stats?.properties.endedInTemporal).toMatchObject({ type: 'integer' });
  });

  it("describes an application's status closely enough to refuse what the code does not produce", () => {
    const status = {
      id: 'kb-0',
      status: 'compensating',
      company: { name: '南昌示例科技有限公司', district: '360113' },
      submittedAt: '2026-11-28T08:00:00.000Z',
      steps: [],
      results: {},
      compensations: [
        { step: 'seal', action: 'cancel', state: 'incident', startedAt: '2026-11-28T08:00:01.000Z', attempts: 0 },
      ],
      pendingTasks: ['incident:seal'],
      audit: [],
    };
    expect(schemaProblems('ApplicationStatus', status)).toEqual([]);
    expect(schemaProblems('ApplicationStatus', { ...status, status: 'paused' })).toEqual([
      expect.stringContaining('/status must be equal to one of the allowed values'),
    ]);
    expect(schemaProblems('ApplicationStatus', { ...status, surprise: 1 })).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
    expect(
      schemaProblems('ApplicationStatus', {
        ...status,
        compensations: [{ ...status.compensations[0], state: 'lost' }],
      }),
    ).toEqual([expect.stringContaining('/compensations/0/state')]);
    // The results the agencies produce are described too (seals, tax, bank appointment).
    const results = {
      seals: [{ type: '公章', recordId: 'GA3601130000000001' }],
      electronicSealIds: ['ES0000000000000001'],
      tax: { taxpayerId: 'x', taxRecordId: 'y', invoiceApproval: { types: ['普通发票'], monthlyQuota: 25 } },
      bankAppointment: { appointmentRef: 'YY0', bank: 'b', branch: 'c', slot: { date: '2026-11-30', time: '09:30' } },
    };
    expect(schemaProblems('ApplicationStatus', { ...status, results })).toEqual([]);
    expect(schemaProblems('ApplicationStatus', { ...status, results: { ...results, seals: 'GA1' } })).toEqual([
      expect.stringContaining('/results/seals'),
    ]);
  });

  it("describes the application a reader gets: masked personal data fail the submitted application's rules, not the answer's", () => {
    const masked = maskPersonalFields(sampleApplication());
    expect(masked.applicant.email).toMatch(/\*\*\*@/);
    expect(schemaProblems('Application', masked)).toEqual([expect.stringContaining('/applicant/email')]);
    expect(schemaProblems('ApplicationAsRead', masked)).toEqual([]);
    expect(schemaProblems('ApplicationAsRead', sampleApplication())).toEqual([]);
    expect(schemaProblems('ApplicationAsRead', { ...masked, surprise: 1 })).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
  });
});
