import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { AgencyId, Procedure } from './config';
import type { DecisionInput, ELicense, Rejection } from './procedures';

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
/**
 * The records file could not be written (a full or failing disk): the change was not kept, and the store's memory is as
 * before it. The agency answers 503: nothing was done, the caller may retry.
 */
export class RecordsUnavailableError extends Error {
  constructor(file: string, cause: unknown) {
    super(`the records file ${file} could not be written: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'RecordsUnavailableError';
  }
}

const DAMAGED_HELP =
  ' (mend or delete that line; or move the file away to start with no records, and applications in flight ' +
  'then meet unknown tickets and wait for an operator as incidents)';

/**
 * One line of the records file: a record as it now is (with what its decision will read while it is pending), or ids
 * drawn in a space. The last line about a ticket is the record.
 */
type FileLine =
  { record: AgencyRecord; input?: DecisionInput } | { space: string; ids: string[] } | { notification: KeptReceipt };

/**
 * A notification the message platform took, as the file keeps it: its key and receipt, never its content (the name,
 * number and message stay in memory, masked): after a restart a repeat is still answered as the first, not sent again.
 */
export interface KeptReceipt {
  key: string;
  notificationId: string;
  applicationId: string;
  acceptedAt: string;
}

/** A notification as the platform lists it: its receipt, and its content (masked) while this process has it. */
export type TakenNotification = KeptReceipt & {
  event?: string;
  to?: { name: string; phone: string; email?: string };
  message?: { zh: string; en: string };
  results?: Record<string, unknown>;
  dossier?: { dossierId: string };
};

const RECEIPT_FIELDS = ['key', 'notificationId', 'applicationId', 'acceptedAt'] as const;

const isKeptReceipt = (value: Partial<KeptReceipt> | undefined): value is KeptReceipt =>
  RECEIPT_FIELDS.every((k) => typeof value?.[k] === 'string');

/** What the file keeps of a notification: its receipt alone. */
const receiptOf = (notification: KeptReceipt): KeptReceipt =>
  Object.fromEntries(RECEIPT_FIELDS.map((k) => [k, notification[k]])) as unknown as KeptReceipt;

/** The most notifications kept (the oldest forgotten first): a long `npm start` must not grow for ever. */
const NOTIFICATIONS_KEPT = 100_000;

/** What reading the records file found (`undefined` without a file). */
export interface ReadBack {
  file: string;
  records: number;
  pending: number;
  /** Notifications the message platform took (their receipts). */
  notifications: number;
  /** A last line cut short (a crash in the middle of a write): the change it began is not applied. */
  truncatedLastLine: boolean;
}

/**
 * Every record the agencies issued, and the ids they drew. With a file, every change is appended to it as one JSON
 * line before the agency answers, and a new store on the same file reads them back — so a restarted simulator
 * (`npm start` run again) still knows every ticket, idempotency key, reserved name and issued code, and decides the
 * filings that were still pending. The file holds no personal data: records never carry the filing's payload, and a
 * pending filing keeps only what its decision reads (procedures.ts).
 */
export class RecordStore {
  /** Records by ticket, in filing order. */
  private readonly byTicket = new Map<string, AgencyRecord>();
  private readonly byIdempotencyKey = new Map<string, AgencyRecord>();
  private readonly byUscc = new Map<string, AgencyRecord>();
  /** Name reservations and seal filings by the ids they issued (whatever became of them), for the filings that quote them. */
  private readonly byReservationId = new Map<string, AgencyRecord>();
  private readonly bySealRecordId = new Map<string, AgencyRecord>();
  /** Name reservations by the name they reserved, then by ticket (so a name check does not scan every record). */
  private readonly byReservedName = new Map<string, Map<string, AgencyRecord>>();
  private readonly issued = new Map<string, Set<string>>();
  /** What each pending filing's decision will read. */
  private readonly inputs = new Map<string, DecisionInput>();
  /** Notifications by Idempotency-Key, in arrival order. */
  private readonly notifications = new Map<string, TakenNotification>();
  private fd: number | undefined;
  private linesInFile = 0;
  private readonly compactAfterLines: number;
  private readonly compactionFailed: (error: unknown) => void;
  readonly readBack: ReadBack | undefined;

  /**
   * `compactAfterLines`: the file is rewritten compactly once it holds this many lines more than twice its compact
   * size (every change of a record appends the whole record), so a long run does not grow it without bound.
   * `compactionFailed` hears of a rewrite that failed along the way (the file is kept as it was, every line in it).
   */
  constructor(
    private readonly file?: string,
    options: { compactAfterLines?: number; compactionFailed?: (error: unknown) => void } = {},
  ) {
    this.compactAfterLines = options.compactAfterLines ?? 100_000;
    this.compactionFailed = options.compactionFailed ?? (() => undefined);
    if (file === undefined) return;
    mkdirSync(path.dirname(file), { recursive: true });
    const truncatedLastLine = existsSync(file) ? this.read(file) : false;
    this.compact(file);
    this.readBack = {
      file,
      records: this.byTicket.size,
      pending: this.inputs.size,
      notifications: this.notifications.size,
      truncatedLastLine,
    };
  }

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

  /** The name reservation that issued `reservationId`, if any (any status after approval: the caller looks at it). */
  findReservation(reservationId: string): AgencyRecord | undefined {
    return this.byReservationId.get(reservationId);
  }

  /** The seal filing that issued the seal record `recordId`, if any. */
  findSealFiling(recordId: string): AgencyRecord | undefined {
    return this.bySealRecordId.get(recordId);
  }

  /** The name reservations that reserved `name` (any status: the caller looks at it). */
  nameReservations(name: string): Iterable<AgencyRecord> {
    return this.byReservedName.get(name)?.values() ?? [];
  }

  /** A new pending record and what its decision will read: kept in the file first, then known. */
  add(record: AgencyRecord, input: DecisionInput): void {
    this.append({ record, input });
    this.index(record, input);
    this.compactIfDue();
  }

  /**
   * Applies `change` to `record` (a decision, an undo) once the changed record is kept in the file: when it cannot be
   * written (RecordsUnavailableError), `record` stays as it was.
   */
  update(record: AgencyRecord, change: Partial<AgencyRecord>): void {
    this.append({ record: { ...record, ...change } });
    Object.assign(record, change);
    this.index(record);
    this.compactIfDue();
  }

  /** Pending records with what their decisions will read (after a restart: the decisions to take). */
  pending(): Array<{ record: AgencyRecord; input: DecisionInput }> {
    return [...this.inputs].map(([ticket, input]) => ({ record: this.byTicket.get(ticket)!, input }));
  }

  list(filter: RecordFilter = {}): AgencyRecord[] {
    return [...this.byTicket.values()].filter(
      (record) =>
        (filter.applicationId === undefined || record.reference.applicationId === filter.applicationId) &&
        (filter.agency === undefined || record.agency === filter.agency) &&
        (filter.live === undefined || isLive(record) === filter.live),
    );
  }

  /** The notification taken under `key`, if any. */
  notification(key: string): TakenNotification | undefined {
    return this.notifications.get(key);
  }

  /** Keeps a notification taken (its receipt in the file), forgetting the oldest beyond NOTIFICATIONS_KEPT. */
  takeNotification(notification: TakenNotification): void {
    this.append({ notification: receiptOf(notification) });
    this.keepNotification(notification);
    this.compactIfDue();
  }

  listNotifications(applicationId?: string): TakenNotification[] {
    return [...this.notifications.values()].filter(
      (n) => applicationId === undefined || n.applicationId === applicationId,
    );
  }

  /**
   * The first of draw(0), draw(1), … never issued before in `space`, marked issued. Redraws happen
   * only on a clash, so ids stay reproducible for a given seed.
   */
  unique(space: string, draw: (attempt: number) => string): string {
    for (let attempt = 0; attempt < MAX_DRAWS; attempt++) {
      const candidate = draw(attempt);
      const issued = this.issuedIn(space);
      if (!issued.has(candidate)) {
        this.append({ space, ids: [candidate] });
        issued.add(candidate);
        this.compactIfDue();
        return candidate;
      }
    }
    throw new Error(`no free id left in '${space}' after ${MAX_DRAWS} draws`);
  }

  /** Stops writing to the file; a change after this throws, so none is taken without being kept. Idempotent. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private keepNotification(notification: TakenNotification): void {
    this.notifications.set(notification.key, notification);
    if (this.notifications.size > NOTIFICATIONS_KEPT)
      this.notifications.delete(this.notifications.keys().next().value!);
  }

  private issuedIn(space: string): Set<string> {
    let ids = this.issued.get(space);
    if (!ids) this.issued.set(space, (ids = new Set()));
    return ids;
  }

  private index(record: AgencyRecord, input?: DecisionInput): void {
    this.byTicket.set(record.ticket, record);
    this.byIdempotencyKey.set(keyOf(record.agency, record.idempotencyKey), record);
    if (record.eLicense) this.byUscc.set(record.eLicense.uscc, record);
    const reservationId = record.result?.reservationId;
    if (record.procedure === 'name_reservation' && typeof reservationId === 'string') {
      this.byReservationId.set(reservationId, record);
    }
    const seals = record.result?.seals;
    if (record.procedure === 'seal_filing' && Array.isArray(seals)) {
      for (const seal of seals as { recordId?: unknown }[]) {
        if (typeof seal?.recordId === 'string') this.bySealRecordId.set(seal.recordId, record);
      }
    }
    const reservedName = record.result?.reservedName;
    if (record.procedure === 'name_reservation' && typeof reservedName === 'string') {
      let holders = this.byReservedName.get(reservedName);
      if (!holders) this.byReservedName.set(reservedName, (holders = new Map()));
      holders.set(record.ticket, record);
    }
    if (input && record.status === 'pending') this.inputs.set(record.ticket, input);
    else if (record.status !== 'pending') this.inputs.delete(record.ticket);
  }

  /**
   * One line, one write: a crash can cut short only the last line of the file. A write that fails (or writes part of
   * the line) is cut off again, so the next line starts on a line of its own, and throws RecordsUnavailableError.
   */
  private append(line: FileLine): void {
    if (this.file === undefined) return; // in memory only
    if (this.fd === undefined) throw new Error('the records file is closed: the simulator is stopping');
    const fd = this.fd;
    const bytes = Buffer.from(JSON.stringify(line) + '\n');
    let sizeBefore: number | undefined;
    try {
      sizeBefore = fstatSync(fd).size;
      const written = writeSync(fd, bytes);
      if (written !== bytes.length) throw new Error(`${written} of ${bytes.length} bytes written`);
    } catch (error) {
      try {
        if (sizeBefore !== undefined) ftruncateSync(fd, sizeBefore);
      } catch {
        // The line stays cut short: the file then reads back up to it and is refused there, naming the line.
      }
      throw new RecordsUnavailableError(this.file, error);
    }
    this.linesInFile += 1;
  }

  /**
   * Rewrites the file compactly once it has grown enough (see the constructor). Called once a change is in memory
   * too, since the rewrite is made from memory. A failed rewrite leaves the file and its descriptor as they were: every
   * line is kept, and compacting waits until as many lines again have been appended.
   */
  private compactIfDue(): void {
    if (this.file === undefined) return;
    const compactSize = this.byTicket.size + this.issued.size + this.notifications.size;
    if (this.linesInFile <= 2 * compactSize + this.compactAfterLines) return;
    try {
      this.compact(this.file);
    } catch (error) {
      this.linesInFile = 0;
      this.compactionFailed(error);
    }
  }

  /** Rewrites the file compactly and appends to it from there; on failure the file and its descriptor are as before. */
  private compact(file: string): void {
    const { lines, fd } = this.rewrite(file);
    const old = this.fd;
    this.fd = fd;
    this.linesInFile = lines;
    if (old !== undefined) {
      try {
        closeSync(old);
      } catch {
        // The old file is replaced already; nothing is written through this descriptor any more.
      }
    }
  }

  /** Applies the file's lines in order; returns whether its last line was cut short. */
  private read(file: string): boolean {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const [i, text] of lines.entries()) {
      if (text === '') continue;
      let line: FileLine;
      try {
        line = JSON.parse(text) as FileLine;
      } catch {
        if (i === lines.length - 1) return true;
        throw new Error(`${file}:${i + 1}: not valid JSON; the simulator's records file is damaged${DAMAGED_HELP}`);
      }
      if ('space' in line && Array.isArray(line.ids)) {
        for (const id of line.ids) this.issuedIn(line.space).add(id);
      } else if ('record' in line && typeof line.record?.ticket === 'string') {
        this.index(line.record, line.input);
      } else if ('notification' in line && isKeptReceipt(line.notification)) {
        this.keepNotification(receiptOf(line.notification));
      } else {
        throw new Error(
          `${file}:${i + 1}: neither a record, issued ids nor a notification; the simulator's records file is damaged${DAMAGED_HELP}`,
        );
      }
    }
    return false;
  }

  /**
   * The file as one line per record and per space, written aside and renamed over (no half-written state); returns
   * its lines and a descriptor appending to it, opened before the rename so that a failure leaves the file as it was.
   */
  private rewrite(file: string): { lines: number; fd: number } {
    const lines: FileLine[] = [
      ...[...this.issued].map(([space, ids]) => ({ space, ids: [...ids] })),
      ...[...this.byTicket.values()].map((record) => {
        const input = this.inputs.get(record.ticket);
        return input ? { record, input } : { record };
      }),
      ...[...this.notifications.values()].map((notification) => ({ notification: receiptOf(notification) })),
    ];
    const aside = `${file}.${process.pid}.tmp`;
    let fd: number | undefined;
    try {
      writeFileSync(aside, lines.map((line) => JSON.stringify(line) + '\n').join(''), { mode: 0o600 });
      fd = openSync(aside, 'a');
      fsyncSync(fd);
      renameSync(aside, file);
      return { lines: lines.length, fd };
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      rmSync(aside, { force: true });
      throw error;
    }
  }
}

function keyOf(agency: AgencyId, idempotencyKey: string): string {
  return `${agency}\n${idempotencyKey}`;
}
