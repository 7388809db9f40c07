/**
 * Logs over whole application runs — the API's request logs, the activities', the workflow's (via
 * the worker's log sink) and the Temporal runtime's, all at trace level — hold no ID number,
 * mobile number or person's name in the clear, and every API line carries its request id.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApplicationStatus } from '../../domain/status';
import { maskPersonalData } from '../../observability/logger';
import { installTemporalRuntime } from '../../worker/worker';
import { tokenFor } from '../helpers/auth';
import { freshApplication } from '../helpers/fixtures';
import { startStack, type Stack } from '../helpers/stack';
import { startDevServer } from '../helpers/temporal';
import { call, capturingLogger, samplePersonalData } from './support';

const capture = capturingLogger();
let env: TestWorkflowEnvironment;
let stack: Stack;

beforeAll(async () => {
  // Before any connection: the Temporal runtime (core, workflow and activity logs) logs through pino.
  installTemporalRuntime(capture.logger);
  env = await startDevServer();
  stack = await startStack(env, { logger: capture.logger });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('log output', () => {
  it('when applications run end to end (and callers put personal data where it does not belong), then no ID number, mobile number or name of a person reaches a log line', async () => {
    const { idNumbers, phones, names } = samplePersonalData();
    // An identity provider whose subjects are mobile numbers (common for citizens' accounts): the caller's subject is
    // personal data too, bound into every line of the request's child logger.
    const applicant = await tokenFor('applicant', phones[0]);
    const operator = await tokenFor('operator', 'op-logs');
    const api = (method: string, path: string, token: string, json?: unknown) =>
      call(stack.api.url, method, path, { token, json });

    const completed = (await api('POST', '/v1/applications', applicant, freshApplication())).body.id as string;
    const withdrawn = (await api('POST', '/v1/applications', applicant, freshApplication())).body.id as string;
    await api('POST', `/v1/applications/${withdrawn}/withdraw`, applicant, {
      reason: `电话 ${phones[0]} 身份证 ${idNumbers[0]}`,
    });
    // Invalid input that quotes personal data: rejected, and not echoed into the logs.
    const invalid = await api('POST', '/v1/applications', applicant, { ...freshApplication(), note: idNumbers[1] });
    expect(invalid.status).toBe(400);
    const status = await until(
      () => api('GET', `/v1/applications/${completed}`, applicant).then((r) => r.body as ApplicationStatus),
      (s) => s.status === 'completed',
    );
    expect(status.status).toBe('completed');
    const revealed = await call(
      stack.api.url,
      'GET',
      `/v1/applications/${completed}?reveal=true&reason=${encodeURIComponent(`applicant ${phones[1]} called`)}`,
      { token: operator },
    );
    expect(revealed.status).toBe(200);
    await until(
      () => api('GET', `/v1/applications/${withdrawn}`, applicant).then((r) => r.body as ApplicationStatus),
      (s) => s.status === 'withdrawn',
    );

    const output = capture.lines.join('');
    // The run really was logged, from every source.
    expect(output).toContain('application submitted');
    expect(output).toContain('agency request filed');
    expect(output).toContain('"component":"temporal"');
    expect(output).toContain('personal data revealed');
    const leaks = capture.lines.filter((line) =>
      [...idNumbers, ...phones, ...names].some((secret) => line.includes(secret)),
    );
    expect(leaks).toEqual([]);
    // Every line of the API carries its request id.
    const apiLines = capture.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.component === 'api');
    expect(apiLines.length).toBeGreaterThan(5);
    for (const line of apiLines) expect(line.reqId ?? line.requestId).toEqual(expect.any(String));
    // Scrubbing leaves what serializers need intact: request logs still say how each request ended.
    expect(
      apiLines.filter((l) => (l.res as { statusCode?: unknown } | undefined)?.statusCode === 202).length,
    ).toBeGreaterThanOrEqual(2);
  });
});

describe('an error logged without a message', () => {
  it('when an error quoting personal numbers is logged alone, then the message pino takes from it is scrubbed too', () => {
    const { lines, logger } = capturingLogger();
    const err = new Error('applicant 360102199003071236, phone 13807910001: refused');
    logger.error(err);
    logger.warn({ err, step: 'tax' });
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual([
      'applicant 3601**********1236, phone 138****0001: refused',
      'applicant 3601**********1236, phone 138****0001: refused',
    ]);
    expect(lines.join('')).not.toMatch(/360102199003071236|13807910001/);
  });
});

describe('scrubbing free text', () => {
  it.each([
    ['ID 360102199001011236 given', 'ID 3601**********1236 given'],
    ['call 13807910001 today', 'call 138****0001 today'],
    ['call +8613807910001 today', 'call +86138****0001 today'],
    ['call +86 138-0791-0001 or +86 13807910001', 'call +86 138-****-0001 or +86 138****0001'],
    ['call 138 0791 0001', 'call 138 **** 0001'],
    ['tel 86-13807910001.', 'tel 86-138****0001.'],
    ['order 9913807910001 stays', 'order 9913807910001 stays'],
    ['old ID 360102900101123 on file', 'old ID 3601********123 on file'],
    ['mail zhang.san@example.com.cn now', 'mail z***@example.com.cn now'],
    ['at 2026-11-29T08:00:00.000Z, 1764403200000 ms', 'at 2026-11-29T08:00:00.000Z, 1764403200000 ms'],
    ['ID:360102199003071236abc', 'ID:3601**********1236abc'],
    ['a36010219900307123Xb', 'a3601**********123Xb'],
    ['call 138.0791.0001 now', 'call 138.****.0001 now'],
    ['call (138) 0791 0001 or (+86)13807910001', 'call (138) **** 0001 or (+86)138****0001'],
    [
      '手机１３８０７９１０００１，身份证３６０１０２１９９００３０７１２３６',
      '手机138****0001，身份证3601**********1236',
    ],
    // An agency's JSON with non-ASCII escaped (Python's default): the escape's last hex digit hid the number.
    [
      String.raw`{"message":"\u624b\u673a\u53f713807910001 \u8eab\u4efd\u8bc1360102199003071236"}`,
      '{"message":"手机号138****0001 身份证3601**********1236"}',
    ],
    // A query string's `+` is a space: the groups of a number a form or URLSearchParams sent.
    ['GET /v1/applications?q=138+0791+0001&pageSize=5', 'GET /v1/applications?q=138 **** 0001&pageSize=5'],
    ['plain A+B 13807910001', 'plain A+B 138****0001'],
    // Groups separated by an ideographic space or a full-width hyphen.
    ['电话 138\u30000791\u30000001 或 138\uFF0D0791\uFF0D0001', '电话 138 **** 0001 或 138-****-0001'],
    // Identifiers generated at random stay whole, digits and all (about one application id in six hundred holds eleven
    // digits in a row), and a number beside them is still masked.
    [
      'GET /v1/applications/kb-4f13807910001a2b3c4d5e6f7a8b9c0d for 13807910001',
      'GET /v1/applications/kb-4f13807910001a2b3c4d5e6f7a8b9c0d for 138****0001',
    ],
    ['run 0e113807-9100-4a1b-8c2d-a13807910001 retried', 'run 0e113807-9100-4a1b-8c2d-a13807910001 retried'],
    ['filing kb-360102199003071236aaaaaaaaaaaaaa:tax', 'filing kb-360102199003071236aaaaaaaaaaaaaa:tax'],
    // Grouped ID numbers, any Unicode space or dash between groups, a 4-3-4 grouping, a digit right after an X.
    ['ID 360102 19900307 1236 on file', 'ID 3601** ******** 1236 on file'],
    ['ID 3601-0219-9003-0712-36.', 'ID 3601-****-****-**12-36.'],
    ['tel 138\u00a00791\u00a00001, 138\u20140791\u20140001', 'tel 138 **** 0001, 138-****-0001'],
    ['call 1380 791 0001 now', 'call 1380 *** 0001 now'],
    [
      'ID 360102 19900307 1236 3 copies, or 360102-19900307-123X-01',
      'ID 3601** ******** 1236 3 copies, or 3601**-********-123X-01',
    ],
    // Not personal: dates, order numbers, amounts beside numbers; dashes and spaces away from digits as they are.
    ['2026-01-01 2026-12-31 10', '2026-01-01 2026-12-31 10'],
    ['ORD-2024-0115-103000-1234', 'ORD-2024-0115-103000-1234'],
    ['price 150.00 123456', 'price 150.00 123456'],
    ['a — b 〜 c', 'a — b 〜 c'],
    ['x36010219900307123X1', 'x3601**********123X1'],
    // Not an ID number: too few digits, or a date and a time.
    ['at 2026-11-30 15:48:29 +08', 'at 2026-11-30 15:48:29 +08'],
    ['order 2026 1130 0042 7', 'order 2026 1130 0042 7'],
    // Only the exact shapes: a longer run of hex is not an id, and what it holds is masked.
    ['kb-4f13807910001a2b3c4d5e6f7a8b9c0d1', 'kb-4f138****0001a2b3c4d5e6f7a8b9c0d1'],
  ])('%s', (text, masked) => {
    expect(maskPersonalData(text)).toBe(masked);
  });
});
