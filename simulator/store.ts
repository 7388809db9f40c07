import type { AgencyId, Procedure } from './config';
import type { ELicense, Rejection } from './procedures';

export type RecordStatus = 'pending' | 'approved' | 'rejected' | 'cancelled' | 'revoked';

export interface Reference {
  applicationId: string;
  step: string;
}

/** One filing at one agency. The payload is not kept: it may hold ID and phone numbers. */
export interface AgencyRecord {
  agency: AgencyId;
  procedure: Procedure;
  ticket: string;
  idempotencyKey: string;
  reference: Reference;
  callbackUrl?: string;
  status: RecordStatus;
  result?: Record<string, unknown>;
  reason?: Rejection;
  /** What the undo of an approved record did (`name_released`, `registration_revoked`, …). */
  compensation?: string;
  cancelReason?: string;
  createdAt: string;
  decidedAt?: string;
  cancelledAt?: string;
  eLicense?: ELicense;
}

/** A record still has an effect at its agency while it is pending or approved. */
export function isLive(record: AgencyRecord): boolean {
  return record.status === 'pending' || record.status === 'approved';
}

/** The record as every route shows it (the callback URL and e-license data stay inside). */
export function recordView(record: AgencyRecord) {
  return {
    ticket: record.ticket,
    agency: record.agency,
    procedure: record.procedure,
    reference: record.reference,
    idempotencyKey: record.idempotencyKey,
    status: record.status,
    live: isLive(record),
    result: record.result,
    reason: record.reason,
    compensation: record.compensation,
    cancelReason: record.cancelReason,
    createdAt: record.createdAt,
    decidedAt: record.decidedAt,
    cancelledAt: record.cancelledAt,
  };
}

export interface RecordFilter {
  applicationId?: string;
  agency?: AgencyId;
  live?: boolean;
}

const MAX_DRAWS = 10_000;

export class RecordStore {
  private readonly records: AgencyRecord[] = [];
  private readonly byIdempotencyKey = new Map<string, AgencyRecord>();
  private readonly byTicket = new Map<string, AgencyRecord>();
  private readonly byUscc = new Map<string, AgencyRecord>();
  private readonly issued = new Map<string, Set<string>>();

  findByIdempotencyKey(agency: AgencyId, idempotencyKey: string): AgencyRecord | undefined {
    return this.byIdempotencyKey.get(keyOf(agency, idempotencyKey));
  }

  findByTicket(agency: AgencyId, ticket: string): AgencyRecord | undefined {
    const record = this.byTicket.get(ticket);
    return record?.agency === agency ? record : undefined;
  }

  /** The establishment registration that issued `uscc`, if any. */
  findRegistration(uscc: string): AgencyRecord | undefined {
    return this.byUscc.get(uscc);
  }

  add(record: AgencyRecord): void {
    this.records.push(record);
    this.byIdempotencyKey.set(keyOf(record.agency, record.idempotencyKey), record);
    this.byTicket.set(record.ticket, record);
  }

  indexRegistration(record: AgencyRecord): void {
    if (record.eLicense) this.byUscc.set(record.eLicense.uscc, record);
  }

  list(filter: RecordFilter = {}): AgencyRecord[] {
    return this.records.filter(
      (record) =>
        (filter.applicationId === undefined || record.reference.applicationId === filter.applicationId) &&
        (filter.agency === undefined || record.agency === filter.agency) &&
        (filter.live === undefined || isLive(record) === filter.live),
    );
  }

  /**
   * The first of draw(0), draw(1), … never issued before in `space`, marked issued. Redraws happen
   * only on a clash, so ids stay reproducible for a given seed.
   */
  unique(space: string, draw: (attempt: number) => string): string {
    let issued = this.issued.get(space);
    if (!issued) this.issued.set(space, (issued = new Set()));
    for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
      const candidate = draw(attempt);
      if (!issued.has(candidate)) {
        issued.add(candidate);
        return candidate;
      }
    }
    throw new Error(`no free id left in '${space}' after ${MAX_DRAWS} draws`);
  }
}

function keyOf(agency: AgencyId, idempotencyKey: string): string {
  return `${agency}\n${idempotencyKey}`;
}
