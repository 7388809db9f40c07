/**
 * The HTTP adapter to the six agencies. This is the seam where real agency endpoints plug in:
 * one base URL per agency, the protocol documented in simulator/README.md.
 */
import type { AgencyId } from '../domain/steps';

export type AgencyRequestStatus = 'pending' | 'approved' | 'rejected' | 'cancelled' | 'revoked';

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

/** The agency could not be reached or answered with a server error: worth retrying. */
export class AgencyUnavailableError extends Error {
  override name = 'AgencyUnavailableError';
  constructor(
    message: string,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
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
  ) {
    const url = `${options.urls[agency]}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw new AgencyUnavailableError(`${agency} agency unreachable at ${method} ${url}: ${(err as Error).message}`);
    }
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // A non-JSON answer is handled by the status checks below.
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new AgencyUnavailableError(
        `${agency} agency answered ${response.status} to ${method} ${path}`,
        response.status,
      );
    }
    if (!response.ok) {
      throw new AgencyRequestError(
        `${agency} agency refused ${method} ${path} with ${response.status}: ${text.slice(0, 300)}`,
        response.status,
        json,
      );
    }
    return toRecord(agency, json);
  }

  return {
    file: (r) =>
      call(
        r.agency,
        'POST',
        '/requests',
        { procedure: r.procedure, reference: r.reference, callbackUrl: r.callbackUrl, payload: r.payload },
        { 'idempotency-key': r.idempotencyKey },
      ),
    get: (agency, ticket) => call(agency, 'GET', `/requests/${encodeURIComponent(ticket)}`),
    cancel: (agency, ticket, reason) =>
      call(agency, 'POST', `/requests/${encodeURIComponent(ticket)}/cancel`, { reason }),
  };
}

function toRecord(agency: AgencyId, json: unknown): AgencyRecord {
  const record = json as Partial<AgencyRecord> | undefined;
  if (!record || typeof record.ticket !== 'string' || typeof record.status !== 'string') {
    throw new AgencyUnavailableError(`${agency} agency answered without a ticket and status`);
  }
  return { ticket: record.ticket, status: record.status, result: record.result, reason: record.reason };
}
