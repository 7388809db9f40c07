/**
 * Hostile input (OWASP API4/API8): POST /v1/applications fuzzed with generated bodies — wrong
 * types, missing fields, huge strings, deep nesting, prototype-pollution and privileged keys,
 * unicode oddities, malformed JSON, foreign media types, bad Idempotency-Keys. Every answer is a
 * 4xx with a JSON error and no internals, no workflow starts (checked in visibility), nothing
 * pollutes Object.prototype, and the server keeps serving.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import fc from 'fast-check';
import { tokenFor } from '../helpers/auth';
import { freshApplication } from '../helpers/fixtures';
import { startStack, type Stack } from '../helpers/stack';
import { startDevServer } from '../helpers/temporal';
import { call } from './support';

let env: TestWorkflowEnvironment;
let stack: Stack;
let token: string;

beforeAll(async () => {
  env = await startDevServer();
  stack = await startStack(env);
  token = await tokenFor('applicant', 'applicant-fuzz');
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

type Path = Array<string | number>;
type Json = unknown;

/** Paths of every object and every leaf of the sample application. */
function shape(value: Json, path: Path = [], out = { objects: [] as Path[], leaves: [] as Path[] }) {
  if (value !== null && typeof value === 'object') {
    if (!Array.isArray(value)) out.objects.push(path);
    for (const [k, v] of Object.entries(value)) shape(v, [...path, Array.isArray(value) ? Number(k) : k], out);
  } else {
    out.leaves.push(path);
  }
  return out;
}
const SHAPE = shape(freshApplication());
const OPTIONAL_LEAVES = new Set(['applicant.email']);
const key = (path: Path) => path.join('.');
const at = (root: Json, path: Path): Json => path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], root);

function edited(edit: (app: Record<string, Json>) => void): Record<string, Json> {
  const app = freshApplication() as unknown as Record<string, Json>;
  edit(app);
  return app;
}
function setAt(app: Json, path: Path, value: Json): void {
  const parent = at(app, path.slice(0, -1)) as Record<string | number, Json>;
  parent[path[path.length - 1]!] = value;
}

interface Attempt {
  kind: string;
  body: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}
const json = (kind: string, value: Json, headers?: Record<string, string>): Attempt => ({
  kind,
  body: JSON.stringify(value),
  contentType: 'application/json',
  headers,
});

const anyJson = fc.jsonValue({ maxDepth: 4 });
const ODDITIES = [
  '\u0000',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\u0301',
  '\ud800',
  '\udfff',
  '３６０１',
  'Ｘ',
  'Х',
  '\u2028',
  '𠜎',
  '\\',
  '"',
  "'; DROP TABLE--",
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
];
const oddString = fc
  .tuple(
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom(...ODDITIES),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  )
  .map(([a, odd, b]) => `${a}${odd}${b}`);

/** Wrong type at any leaf: a different JSON type than the sample's (null included where it is not allowed). */
const wrongType = fc.tuple(fc.constantFrom(...SHAPE.leaves), anyJson).map(([path, value]) => {
  const original = at(freshApplication(), path);
  const sameType = (v: Json) =>
    v === null ? original === null : Array.isArray(v) ? Array.isArray(original) : typeof v === typeof original;
  const replacement = sameType(value)
    ? typeof original === 'string'
      ? 12345
      : original === null
        ? 42
        : 'wrong type'
    : value;
  return json(
    `wrong type at ${key(path)}`,
    edited((app) => setAt(app, path, replacement)),
  );
});

const missing = fc
  .constantFrom(...SHAPE.leaves.filter((p) => !OPTIONAL_LEAVES.has(key(p)) && typeof p[p.length - 1] === 'string'))
  .map((path) =>
    json(
      `missing ${key(path)}`,
      edited((app) => delete (at(app, path.slice(0, -1)) as Record<string, Json>)[path[path.length - 1] as string]),
    ),
  );

/** Keys a client must never set, inserted as own properties (JSON.parse makes `__proto__` an own key too). */
const PRIVILEGED = [
  '__proto__',
  'constructor',
  'prototype',
  'status',
  'results',
  'review',
  'reviewer',
  'decidedBy',
  'owner',
  'audit',
  'pendingTasks',
  'outcome',
  'id',
];
const privileged = fc
  .tuple(fc.constantFrom(...SHAPE.objects), fc.constantFrom(...PRIVILEGED), anyJson)
  .map(([path, name, value]) =>
    json(
      `key ${name} at ${key(path) || '(root)'}`,
      edited((app) => {
        const target = at(app, path) as object;
        Object.defineProperty(target, name, {
          value: name === '__proto__' ? { polluted: true, isAdmin: true } : value,
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }),
    ),
  );

const STRING_LEAVES = SHAPE.leaves.filter((p) => typeof at(freshApplication(), p) === 'string');
/** Longer than any field allows (254) up to beyond the body limit (64 kB → 413). */
const huge = fc
  .tuple(
    fc.constantFrom(...STRING_LEAVES),
    fc.integer({ min: 255, max: 70_000 }),
    fc.constantFrom('a', '张', '𠜎', '\u0301', '1'),
  )
  .map(([path, length, unit]) =>
    json(
      `${length}× ${JSON.stringify(unit)} at ${key(path)}`,
      edited((app) => setAt(app, path, unit.repeat(length))),
    ),
  );

/** Values no constrained field accepts: codes, enums, ID and mobile numbers with an odd character. */
const CONSTRAINED = [
  'applicant.idNumber',
  'applicant.phone',
  'applicant.email',
  'company.district',
  'company.entityType',
  'services.bank.bank',
  'services.licenseDelivery',
  'services.seals.0',
  'people.shareholders.1.idNumber',
  'services.bank.preferredDate',
];
const odd = fc
  .tuple(fc.constantFrom(...SHAPE.leaves.filter((p) => CONSTRAINED.includes(key(p)))), oddString, fc.boolean())
  .map(([path, text, keepValid]) => {
    const original = String(at(freshApplication(), path));
    // Either an odd string alone or the valid value with an odd character slipped in.
    const value = keepValid ? `${original.slice(0, 3)}${text}${original.slice(3)}` : text;
    return json(
      `odd ${JSON.stringify(value).slice(0, 40)} at ${key(path)}`,
      edited((app) => setAt(app, path, value)),
    );
  });

const deep = fc
  .tuple(fc.integer({ min: 50, max: 40_000 }), fc.constantFrom('array', 'object'), fc.boolean())
  .map(([depth, kind, nested]) => {
    const inner =
      kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body = nested
      ? JSON.stringify(freshApplication()).replace(/^\{"applicant":\{[^}]*\}/, `{"applicant":${inner}`)
      : inner;
    return {
      kind: `${kind} nested ${depth} deep${nested ? ' under applicant' : ''}`,
      body,
      contentType: 'application/json',
    } satisfies Attempt;
  });

const malformed = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom(
      '',
      '{',
      '{"applicant":',
      "{'applicant':1}",
      'NaN',
      '[1,]',
      '{"a":1}garbage',
      '\ufeff{}',
      'null',
      '1e999999',
      '"\\ud800"',
      '{"__proto__":{"polluted":1}}',
    ),
    fc.constant(JSON.stringify(freshApplication()).slice(0, -1)),
  )
  .map(
    (body) =>
      ({
        kind: `malformed ${JSON.stringify(body).slice(0, 40)}`,
        body,
        contentType: 'application/json',
      }) satisfies Attempt,
  );

const bytes = fc
  .uint8Array({ minLength: 1, maxLength: 300 })
  .map((b) => ({ kind: 'random bytes', body: Buffer.from(b), contentType: 'application/json' }) satisfies Attempt);

const foreignMedia = fc
  .tuple(
    fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/json; charset=utf-16',
      'application/octet-stream',
      '',
    ),
    fc.constantFrom(JSON.stringify(freshApplication()), 'applicant[name]=x', '<a/>'),
  )
  .map(
    ([contentType, body]) => ({ kind: `media type ${contentType || '(none)'}`, body, contentType }) satisfies Attempt,
  );

const badIdempotencyKey = fc
  .oneof(
    fc.constant(''),
    fc.integer({ min: 201, max: 4000 }).map((n) => 'k'.repeat(n)),
  )
  .map((k) => json(`Idempotency-Key of ${k.length} characters`, freshApplication(), { 'idempotency-key': k }));

const hostile: fc.Arbitrary<Attempt> = fc.oneof(
  { arbitrary: anyJson.map((v) => json('any JSON value', v)), weight: 2 },
  { arbitrary: wrongType, weight: 3 },
  { arbitrary: missing, weight: 1 },
  { arbitrary: privileged, weight: 3 },
  { arbitrary: huge, weight: 2 },
  { arbitrary: odd, weight: 3 },
  { arbitrary: deep, weight: 1 },
  { arbitrary: malformed, weight: 2 },
  { arbitrary: bytes, weight: 1 },
  { arbitrary: foreignMedia, weight: 1 },
  { arbitrary: badIdempotencyKey, weight: 1 },
);

async function workflowsOnQueue(): Promise<number> {
  return (await env.client.workflow.count(`TaskQueue = '${stack.taskQueue}'`)).count;
}

describe('POST /v1/applications under hostile input', () => {
  it('when 1,200 generated hostile bodies arrive, then each gets a 4xx JSON error without internals, and no workflow starts', async () => {
    const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    const seen = new Map<string, number>();
    let runs = 0;

    await fc.assert(
      fc.asyncProperty(hostile, async (attempt) => {
        runs++;
        const res = await call(stack.api.url, 'POST', '/v1/applications', {
          token,
          raw: attempt.body,
          headers: { ...(attempt.contentType ? { 'content-type': attempt.contentType } : {}), ...attempt.headers },
        });
        seen.set(String(res.status), (seen.get(String(res.status)) ?? 0) + 1);
        const answer = { kind: attempt.kind, status: res.status, type: res.headers.get('content-type') };
        expect(answer).toEqual({
          kind: attempt.kind,
          status: expect.any(Number),
          type: expect.stringContaining('application/json'),
        });
        expect(res.status >= 400 && res.status < 500 && res.status !== 429 ? 'a client error' : answer).toBe(
          'a client error',
        );
        expect(res.body.error).toMatchObject({
          code: expect.stringMatching(/^[A-Z_]+$/),
          message: expect.any(String),
          requestId: res.headers.get('x-request-id'),
        });
        expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|ZodError|TypeError|SyntaxError/);
      }),
      { numRuns: 1200, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    );

    expect(runs).toBeGreaterThanOrEqual(1000);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The mix reached validation, the size limit and the media-type check alike.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining(['400', '413', '415']));

    // The server still serves, and visibility (which the control below proves working) holds no workflow.
    expect((await call(stack.api.url, 'GET', '/healthz')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await workflowsOnQueue()).toBe(0);
    const control = await call(stack.api.url, 'POST', '/v1/applications', { token, json: freshApplication() });
    expect(control.status).toBe(202);
    const deadline = Date.now() + 15_000;
    while ((await workflowsOnQueue()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await workflowsOnQueue()).toBe(1);
  }, 120_000);
});
