/**
 * Answers checked against the OpenAPI document's own schemas (api/openapi.ts), with a JSON Schema 2020-12 validator as
 * OpenAPI 3.1 uses: a field the code adds, renames or retypes without the document fails the test that reads it.
 */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { buildOpenApiDocument } from '../../api/openapi';

const document = buildOpenApiDocument() as { components: { schemas: Record<string, unknown> } };
// `strict: false`: OpenAPI's own keywords (descriptions aside) are not JSON Schema's.
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema({ $id: 'kaiban-openapi', components: document.components });

/** The problems of `value` against `components.schemas[name]` (empty when it conforms). */
export function schemaProblems(name: string, value: unknown): string[] {
  const validate = ajv.getSchema(`kaiban-openapi#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the OpenAPI document`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
