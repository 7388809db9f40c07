/**
 * The API's error mapping for Temporal failures, on a real express app over real HTTP: what a caller learns when
 * Temporal cannot be reached (the whole path, a dev server killed, is in reliability-server-restart.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import express from 'express';
import { errorHandler } from '../api/errors';
import { API_MESSAGES, type Localized } from '../api/messages';
import { MAX_BODY_DEPTH, tooDeepAt } from '../security/input';

/** A gRPC error as @grpc/grpc-js raises it. */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

async function answerTo(err: Error): Promise<{ status: number; retryAfter: string | null; code: string }> {
  const app = express();
  app.get('/', () => {
    throw err;
  });
  app.use(errorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const body = (await res.json()) as { error: { code: string } };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), code: body.error.code };
  } finally {
    server.close();
  }
}

it.each([
  [
    'the frontend down (UNAVAILABLE, wrapped by the client)',
    new ServiceError('Failed to start Workflow', { cause: grpcError(14, 'No connection established') }),
  ],
  ['a call out of time (DEADLINE_EXCEEDED)', grpcError(4, 'Deadline exceeded')],
  [
    "an update's call out of time",
    new WorkflowUpdateRPCTimeoutOrCancelledError('Timed out or cancelled waiting for Update', {
      cause: grpcError(4, 'Deadline exceeded'),
    }),
  ],
])('when Temporal cannot answer — %s — then 503 TEMPORAL_UNAVAILABLE with Retry-After', async (_, err) => {
  expect(await answerTo(err)).toEqual({ status: 503, retryAfter: '5', code: 'TEMPORAL_UNAVAILABLE' });
});

it('when Temporal answers with an error of its own (INVALID_ARGUMENT), then it is not called unavailable', async () => {
  expect(await answerTo(new ServiceError('Failed', { cause: grpcError(3, 'bad query') }))).toEqual({
    status: 500,
    retryAfter: null,
    code: 'INTERNAL',
  });
});

it("when Temporal cannot answer, then the message is in the caller's language: Chinese by default, English when asked", async () => {
  const app = express();
  app.get('/', () => {
    throw grpcError(14, 'No connection established');
  });
  app.use(errorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const messageOf = async (headers: Record<string, string>) =>
      ((await (await fetch(url, { headers })).json()) as { error: { message: string } }).error.message;
    expect(await messageOf({})).toBe(API_MESSAGES.temporalUnavailable.zh);
    expect(await messageOf({ 'accept-language': 'en' })).toBe(API_MESSAGES.temporalUnavailable.en);
    expect(await messageOf({ 'accept-language': 'zh-CN,en;q=0.8' })).toBe(API_MESSAGES.temporalUnavailable.zh);
  } finally {
    server.close();
  }
});

describe("the API's messages (api/messages.ts)", () => {
  const samples: Record<string, unknown[]> = {
    stepNotFound: ['taxes'],
    consoleRole: [['operator', 'supervisor']],
    idempotencyKeyInvalid: [200],
    idempotencyKeyReusedAction: ['withdraw'],
    tokenInvalid: ['the bearer token is not valid (ERR_JWS_INVALID)'],
    roleForbidden: ['applicant', ['operator', 'supervisor']],
    tooManyRequests: [60],
    tooManySubmissions: [60],
    bodyTooDeep: [32],
  };
  const entries = Object.entries(API_MESSAGES).map(([name, message]) => {
    const localized =
      typeof message === 'function'
        ? (message as (...args: unknown[]) => Localized)(...(samples[name] ?? []))
        : message;
    return [name, localized] as const;
  });

  it.each(entries)('%s is Chinese in zh and English in en', (_, localized) => {
    expect(localized.zh).toMatch(/[\u4e00-\u9fff]/);
    expect(localized.en).toMatch(/^[\x20-\x7e]+$/);
  });

  it('keeps the English the API answered with before it answered in Chinese (an article mended)', () => {
    expect(API_MESSAGES.applicationNotFound.en).toBe('no such application');
    expect(API_MESSAGES.idempotencyKeyReusedAction('withdraw').en).toBe(
      'this Idempotency-Key was used for another withdraw request; use a new key for a new request',
    );
    expect(API_MESSAGES.roleForbidden('applicant', ['operator', 'supervisor']).en).toBe(
      'an applicant may not do this; it needs the role operator or supervisor',
    );
    expect(API_MESSAGES.roleForbidden('applicant', ['operator', 'supervisor']).zh).toBe(
      '申请人无权执行此操作：需要运营人员或监察人员角色',
    );
  });
});

describe('how deep a body may nest (security/input.ts)', () => {
  const nested = (levels: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 1; i < levels; i++) value = i % 2 === 0 ? { a: value } : [value];
    return { top: value };
  };

  it('takes a body of MAX_BODY_DEPTH levels and names the first place past it, arrays by index', () => {
    expect(tooDeepAt(nested(MAX_BODY_DEPTH), MAX_BODY_DEPTH)).toBeUndefined();
    expect(tooDeepAt(nested(MAX_BODY_DEPTH + 1), MAX_BODY_DEPTH)).toEqual([
      'top',
      ...Array.from({ length: MAX_BODY_DEPTH - 1 }, (_, i) => ((MAX_BODY_DEPTH - i) % 2 === 0 ? 'a' : 0)),
    ]);
    expect(tooDeepAt('text', 1)).toBeUndefined();
    expect(tooDeepAt({ a: 1, b: [1, 2, { c: {} }] }, 3)).toEqual(['b', 2, 'c']);
    // The first place in document order.
    expect(tooDeepAt({ a: { x: {} }, b: { y: {} } }, 2)).toEqual(['a', 'x']);
    expect(tooDeepAt([[1], [[2]], [[3]]], 2)).toEqual([1, 0]);
    expect(tooDeepAt({ a: 1, b: [1, 2, { c: 'leaf' }] }, 3)).toBeUndefined();
  });

  it('walks 100,000 levels without running out of stack', () => {
    expect(tooDeepAt(nested(100_000), MAX_BODY_DEPTH)).toHaveLength(MAX_BODY_DEPTH);
  });
});
