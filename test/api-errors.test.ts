/**
 * The API's error mapping for Temporal failures, on a real express app over real HTTP: what a caller learns when
 * Temporal cannot be reached (the whole path, a dev server killed, is in reliability-server-restart.test.ts).
 */
import type { AddressInfo } from 'node:net';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import express from 'express';
import { errorHandler } from '../api/errors';

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
