/**
 * The HTTP adapter to the six agencies. This is the seam where real agency endpoints plug in:
 * one base URL per agency, the protocol documented in simulator/README.md.
 *
 * HTTP through undici's `request` (the client under Node's own fetch, without the WHATWG stream
 * layers): a fraction of fetch's CPU per call, which the worker spends on every step.
 */
import { request } from 'undici';
import { agencyRecordSchema, describeProblems, type AgencyRecordStatus } from '../domain/agency-answers';
import { problemsFromZodError } from '../domain/problems';
import { maskPersonalData } from '../observability/logger';
import type { AgencyId } from '../domain/steps';

export type AgencyRequestStatus = AgencyRecordStatus;

export interface AgencyReason {
  code: string;
  message_zh?: string;
  message_en?: string;
}

export interface AgencyRecord {
  ticket: string;
  status: AgencyRequestStatus;
  result?: Record<string, unknown>;
  reason?: AgencyReason;
}

export interface FileRequest {
  agency: AgencyId;
  procedure: string;
  idempotencyKey: string;
  reference: { applicationId: string; step: string };
  callbackUrl?: string;
  payload: Record<string, unknown>;
}

/**
 * The agency could not be reached or answered with a server error: worth retrying. `outcomeUnknown`: the request may
 * have been carried out all the same — it was sent and no answer came (a timeout, a connection cut), or an answer that
 * does not say nothing happened (500, 502, 504, a success without a record or with another filing's, a proxy's 503
 * page). False only when the request certainly changed nothing: the connection was refused or the host unknown (it was
 * never sent), or the agency itself answered 503 or 429 with the protocol's error body (not taken: its "unavailable,
 * retry later", simulator/README.md).
 */
export class AgencyUnavailableError extends Error {
  override name = 'AgencyUnavailableError';
  constructor(
    message: string,
    readonly outcomeUnknown: boolean,
    readonly httpStatus?: number,
    /** When the agency said to come back (`Retry-After` of a 429 or 503), capped at `RETRY_AFTER_MAX_MS`. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * The longest `Retry-After` an agency's answer may set before the next attempt. An agency may ask for an hour; the
 * application's working day does not wait that long between attempts: its retries run out into an incident, which an
 * operator sees.
 */
export const RETRY_AFTER_MAX_MS = 10 * 60_000;

/**
 * A `Retry-After` header (delay-seconds or an HTTP date) in milliseconds from `now`, capped; undefined if absent,
 * unreadable, or under a second ("now", a date past): the retry policy's own backoff then applies — a zero delay would
 * spend a filing's attempts in milliseconds, and loop an undo's unlimited ones against the agency.
 */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms) || ms < 1000) return undefined;
  return Math.min(ms, RETRY_AFTER_MAX_MS);
}

/** Errors of a request that never left this host. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * The most of an answer read: a record or a refusal is a few kB. A larger body (a misrouted download, a broken proxy)
 * is cut off unread — held whole, it would take the worker's memory, and masking it its event loop.
 */
export const ANSWER_MAX_BYTES = 1024 * 1024;

export class AnswerTooLarge extends Error {
  override name = 'AnswerTooLarge';
  constructor() {
    super(`the answer is larger than ${ANSWER_MAX_BYTES} bytes`);
  }
}

/** The body as text, or AnswerTooLarge past `ANSWER_MAX_BYTES` (the rest not read, the connection dropped). */
export async function readCapped(body: AsyncIterable<Uint8Array> & { destroy(): unknown }): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > ANSWER_MAX_BYTES) {
      body.destroy();
      throw new AnswerTooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The agency refused the request itself (bad request, unknown ticket): retrying will not help. */
export class AgencyRequestError extends Error {
  override name = 'AgencyRequestError';
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface AgencyClient {
  file(request: FileRequest): Promise<AgencyRecord>;
  get(agency: AgencyId, ticket: string): Promise<AgencyRecord>;
  cancel(agency: AgencyId, ticket: string, reason: string): Promise<AgencyRecord>;
}

export function createAgencyClient(options: { urls: Record<AgencyId, string>; timeoutMs: number }): AgencyClient {
  async function call(
    agency: AgencyId,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ record: AgencyRecord; json: unknown }> {
    const url = `${options.urls[agency]}${path}`;
    let statusCode: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const response = await request(url, {
        method: method as 'GET' | 'POST',
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      statusCode = response.statusCode;
      retryAfter = response.headers['retry-after'];
      text = await readCapped(response.body);
    } catch (err) {
      if (err instanceof AnswerTooLarge) {
        throw new AgencyUnavailableError(
          `${agency} agency answered ${method} ${path} with more than ${ANSWER_MAX_BYTES} bytes: no answer`,
          true,
        );
      }
      const code = (err as { code?: string }).code;
      throw new AgencyUnavailableError(
        `${agency} agency unreachable at ${method} ${url}: ${(err as Error).message}`,
        !(code && NOT_SENT.has(code)),
      );
    }
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // A non-JSON answer is handled by the status checks below.
    }
    if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
      // "Not taken, retry later" is the agency's own word (the protocol's error body): a proxy's 503 page after the
      // agency saved the filing and then failed says nothing of the kind.
      const notTaken = (statusCode === 503 || statusCode === 429) && isProtocolError(json);
      throw new AgencyUnavailableError(
        `${agency} agency answered ${statusCode} to ${method} ${path}`,
        !notTaken,
        statusCode,
        notTaken ? retryAfterMs(retryAfter) : undefined,
      );
    }
    // Only the agency's own refusal ({"error": {"code": …}}) with a 4xx says the request is wrong. A gateway's HTML 404
    // while the agency redeploys, a redirect to a maintenance page (with a body of any kind): the agency did not
    // answer; try again.
    const refused = statusCode >= 400 && statusCode <= 499 && isProtocolError(json);
    if ((statusCode < 200 || statusCode > 299) && !refused) {
      throw new AgencyUnavailableError(
        `${agency} agency did not answer ${method} ${path}: ${statusCode}${statusCode >= 400 ? " without the protocol's error body" : ''}`,
        true,
        statusCode,
      );
    }
    if (statusCode < 200 || statusCode > 299) {
      throw new AgencyRequestError(
        // Scrubbed before it is cut: a number cut short at 300 characters escapes the patterns, and the text reaches
        // the history, the status and the worker's logs.
        `${agency} agency refused ${method} ${path} with ${statusCode}: ${maskPersonalData(text).slice(0, 300)}`,
        statusCode,
        json,
      );
    }
    return { record: toRecord(agency, json), json };
  }

  return {
    file: (r) =>
      call(
        r.agency,
        'POST',
        '/requests',
        { procedure: r.procedure, reference: r.reference, callbackUrl: r.callbackUrl, payload: r.payload },
        { 'idempotency-key': r.idempotencyKey },
      ).then(ofFiling(r)),
    get: (agency, ticket) =>
      call(agency, 'GET', `/requests/${encodeURIComponent(ticket)}`).then(ofTicket(agency, ticket)),
    cancel: (agency, ticket, reason) =>
      call(agency, 'POST', `/requests/${encodeURIComponent(ticket)}/cancel`, { reason }).then(ofTicket(agency, ticket)),
  };
}

/**
 * A filing's answer must be that filing's record: where the agency says whose it is (its Idempotency-Key, the
 * reference it was filed with, as the protocol returns them), another's — a cache in between, an agency's bug — is no
 * answer, or another company's reservation or USCC would become this application's.
 */
const ofFiling =
  (filing: FileRequest) =>
  ({ record, json }: { record: AgencyRecord; json: unknown }): AgencyRecord => {
    const said = json as { idempotencyKey?: unknown; reference?: { applicationId?: unknown; step?: unknown } };
    const mismatch =
      (typeof said.idempotencyKey === 'string' && said.idempotencyKey !== filing.idempotencyKey) ||
      (typeof said.reference?.applicationId === 'string' &&
        said.reference.applicationId !== filing.reference.applicationId) ||
      (typeof said.reference?.step === 'string' && said.reference.step !== filing.reference.step);
    if (!mismatch) return record;
    throw new AgencyUnavailableError(
      `${filing.agency} agency answered filing ${filing.idempotencyKey} with the record of another filing (ticket ${record.ticket}): no answer`,
      true,
    );
  };

/**
 * The record must be the one asked about: another ticket's (a cache in between, an agency's bug) is no answer — it
 * was taken, and another company's USCC became this license, another record's cancellation this undo.
 */
const ofTicket =
  (agency: AgencyId, ticket: string) =>
  ({ record }: { record: AgencyRecord }): AgencyRecord => {
    if (record.ticket === ticket) return record;
    throw new AgencyUnavailableError(
      `${agency} agency answered about ticket ${record.ticket} when asked about ${ticket}: no answer`,
      true,
    );
  };

/** The protocol's error body, `{"error": {"code": …}}`: the agency's (or the message platform's) own word. */
export function isProtocolError(json: unknown): boolean {
  const error = (json as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error === 'object' && error !== null && typeof error.code === 'string';
}

/**
 * The record in a success answer. One outside the protocol (no ticket, a status it does not have) is no answer: the
 * request may have been carried out all the same.
 */
function toRecord(agency: AgencyId, json: unknown): AgencyRecord {
  const parsed = agencyRecordSchema.safeParse(json);
  if (!parsed.success) {
    throw new AgencyUnavailableError(
      `${agency} agency answered without a valid record: ${describeProblems(problemsFromZodError(parsed.error, 'en'))}`,
      true,
    );
  }
  const { ticket, status, result, reason } = parsed.data;
  return { ticket, status, result, reason };
}
