/**
 * What the workflow bundle holds. A worker evaluates the bundle's modules again for every workflow it starts or
 * replays (each run gets its own module state in the shared V8 context), so a library imported by workflow code costs
 * CPU and memory per application, not once per worker: a protobuf root built from Temporal's 1.4 MB proto JSON, a
 * schema library, a year's calendar data. The workflow needs none of them — the API and activities validate, and
 * calendar data reaches the workflow in an activity result.
 */
import { workflowBundle } from './helpers/temporal';

/** The module paths webpack names in the bundle (`/*** / "./node_modules/…"` headers). */
function modulesOf(code: string): string[] {
  return [...code.matchAll(/\/\*\*\*\/ "([^"]+)"/g)].map((m) => m[1]!);
}

describe('workflow bundle', () => {
  it('holds the workflow, the SDK and the pure domain modules, without libraries that cost per application', async () => {
    const modules = modulesOf((await workflowBundle()).code);
    expect(modules).toContain('./workflows/businessStartup.ts');
    expect(modules).toContain('./domain/steps.ts');

    const heavy = modules.filter((m) =>
      /node_modules\/(@temporalio\/(proto|client|worker|activity)|protobufjs|zod|chinese-days|pino|express)\//.test(m),
    );
    expect(heavy).toEqual([]);
    // Shipped calendar data reaches workflows through the acceptance activity (domain/calendar/official.ts); the
    // only JSON is the SDK's own package.json (its version).
    const data = modules.filter((m) => m.includes('calendar/official') || m.endsWith('.json'));
    expect(data).toEqual(['./node_modules/@temporalio/workflow/package.json']);
  });
});
