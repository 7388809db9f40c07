/**
 * Operators' views across applications, answered by Temporal visibility with Kaiban's custom
 * search attributes: a filtered, paged list and the dashboard counts.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import express, { type Request } from 'express';
import { z } from 'zod';
import { NANCHANG_DISTRICTS } from '../../domain/districts';
import { languageFrom, problem, problemsFromZodError } from '../../domain/problems';
import { refreshSla, SLA_LEVELS, worseLevel, type SlaLevel } from '../../domain/sla';
import { STEP_IDS } from '../../domain/steps';
import {
  breachedKey,
  companyNameFromSearchText,
  companyNameKey,
  companySearchQuery,
  searchableCharacters,
  districtKey,
  dueAtKey,
  pendingTaskKey,
  slaLevelKey,
  statusKey,
} from '../../infra/search-attributes';
import { APPLICATION_STATES, type ApplicationStatus, type ApplicationSummary } from '../../domain/status';
import { identityOf } from '../../security/authorize';
import type { OwnerTag } from '../../security/owner-index';
import { HttpError } from '../errors';
import { API_MESSAGES } from '../messages';
import { readStatus } from '../read-status';
import {
  applicationCounter,
  applicationsOf,
  countEach,
  endedInTemporal,
  openByLevel,
  openByTask,
  ENDED_IN_TEMPORAL,
  RUNNING_IN_TEMPORAL,
  statusClause,
} from '../visibility';
import { calendarReadiness, type WorkingCalendar } from '../../domain/calendar';
import { createOfficialCalendar } from '../../domain/calendar/official';
import { completionStats } from './completion';

export const PAGE_SIZE_MAX = 100;

/** What an operator can wait on: a review, a correction, or an incident of one step. */
export const PENDING_TASKS = ['review', 'correction', ...STEP_IDS.map((s) => `incident:${s}` as const)] as const;

export const listQuerySchema = z.strictObject({
  status: z.enum(APPLICATION_STATES).optional(),
  sla: z.enum(SLA_LEVELS).optional(),
  district: z.enum(Object.keys(NANCHANG_DISTRICTS) as [string, ...string[]]).optional(),
  task: z.enum(PENDING_TASKS).optional(),
  q: z
    .string()
    .trim()
    .min(1)
    .max(60)
    .refine((q) => searchableCharacters(q).length > 0, { params: { code: 'NOTHING_TO_SEARCH' } })
    .describe(
      'Part of the company name (every letter and digit of it must be in the name), or an application id or its start (kb- and at least 4 hex digits)',
    )
    .optional(),
  pageSize: z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(25),
  pageToken: z
    .string()
    .max(2000)
    .regex(/^[A-Za-z0-9_.-]*$/)
    .optional(),
});

/**
 * A page token is the server's, with a check of it and of the query it pages: a token cut short, made up or sent with
 * other filters is refused by name (the server answers those with an internal error), before the server sees it.
 */
const pageTokenCheck = (query: string, token: Uint8Array) =>
  createHash('sha256').update(query).update('\0').update(token).digest('base64url').slice(0, 16);

function pageTokenFor(query: string, token: Uint8Array): string {
  return `${Buffer.from(token).toString('base64url')}.${pageTokenCheck(query, token)}`;
}

/** The server's token inside `pageToken`, or null when this list did not give it out for this query. */
function serverPageToken(query: string, pageToken: string): Buffer | null {
  const [data, check, ...rest] = pageToken.split('.');
  if (!data || !check || rest.length > 0) return null;
  const token = Buffer.from(data, 'base64url');
  return pageTokenCheck(query, token) === check ? token : null;
}

/** An application id or its start, as `q` takes them (`kb-` and at least 4 hex digits; `…` as the console cuts it). */
const idSearched = (q: string) => /^(kb-[0-9a-f]{4,32})…?$/.exec(q)?.[1];

/** The visibility clause for an application id (35 characters) or its start. */
const idClause = (id: string) => (id.length === 35 ? `WorkflowId = '${id}'` : `WorkflowId STARTS_WITH '${id}'`);

/** A visibility record's start or close time (protobuf seconds). */
type VisibilityTime = { seconds?: unknown } | null;
const isoOfSeconds = (t: VisibilityTime | undefined) =>
  t?.seconds ? new Date(Number(t.seconds) * 1000).toISOString() : undefined;

/** How long a list without search attributes waits for one application's status before listing it unreadable. */
const ITEM_READ_DEADLINE_MS = 5000;

/** The list filters counted from Kaiban's search attributes: none of them without (TEMPORAL_SEARCH_ATTRIBUTES=false). */
const ATTRIBUTE_FILTERS = ['status', 'sla', 'district', 'task'] as const;

/** The visibility query for the filters; every value is validated by listQuerySchema first. */
export function visibilityQuery(
  taskQueue: string,
  filters: Omit<z.infer<typeof listQuerySchema>, 'pageSize' | 'pageToken'>,
  owner?: string,
): string {
  const clauses = [applicationsOf(taskQueue)];
  // An applicant's list: their own applications only (the KaibanOwner digest, a validated base64url value).
  if (owner !== undefined) clauses.push(`KaibanOwner = '${owner}'`);
  if (filters.status) clauses.push(statusClause(filters.status));
  if (filters.sla) clauses.push(`KaibanSlaLevel = '${filters.sla}'`);
  if (filters.district) clauses.push(`KaibanDistrict = '${filters.district}'`);
  // A task waits for someone only while the workflow runs (one closed in Temporal keeps its last attribute).
  if (filters.task) clauses.push(`KaibanPendingTask = '${filters.task}' AND ${RUNNING_IN_TEMPORAL}`);
  if (filters.q) {
    const byName = companySearchQuery(filters.q);
    // An application id, or its start as the console's list shows it (`kb-1a2b3c4d…`).
    const id = idSearched(filters.q);
    const byId = id ? idClause(id) : '';
    clauses.push(`(${[byName && `(${byName})`, byId].filter(Boolean).join(' OR ')})`);
  }
  return clauses.join(' AND ');
}

export function operatorRouter(deps: {
  client: Client;
  taskQueue: string;
  calendar?: WorkingCalendar;
  now?: () => Date;
  /** Whether the namespace has Kaiban's search attributes (TEMPORAL_SEARCH_ATTRIBUTES); default true. */
  searchAttributes?: boolean;
  /** An applicant's KaibanOwner digest (security/owner-index.ts): their list holds their own applications only. */
  ownerTag: OwnerTag;
}): express.Router {
  const { client, taskQueue } = deps;
  const searchAttributes = deps.searchAttributes ?? true;
  const calendar = deps.calendar ?? createOfficialCalendar();
  const now = deps.now ?? (() => new Date());
  const completionFigures = completionStats(client, calendar);
  /**
   * Working time to the deadline while the SLA clock runs: none once the application stops running (its clock stopped;
   * a compensation runs on no deadline) nor while it waits on the applicant (the clock is paused and the deadline
   * moves when it resumes).
   */
  const workingMsLeft = (status: string, dueAt: Date | undefined, pendingTasks: string[]): number | undefined => {
    if (!dueAt || status !== 'running' || pendingTasks.includes('correction')) return undefined;
    const at = now().getTime();
    try {
      return dueAt.getTime() >= at ? calendar.workingTimeBetween(at, dueAt) : -calendar.workingTimeBetween(dueAt, at);
    } catch {
      return undefined; // the calendar lacks the year: no figure rather than a wrong one
    }
  };
  const router = express.Router();
  const namespace = client.options.namespace;

  router.get('/v1/applications', async (req: Request, res) => {
    const parsed = listQuerySchema.safeParse(req.query, { reportInput: true });
    if (!parsed.success) {
      throw new HttpError(
        400,
        'VALIDATION_FAILED',
        API_MESSAGES.filterProblems,
        problemsFromZodError(parsed.error, languageFrom(req.headers['accept-language'])),
      );
    }
    const { pageSize, pageToken, ...filters } = parsed.data;
    const identity = identityOf(res)!;
    if (identity.role === 'applicant' && !searchAttributes) {
      throw new HttpError(501, 'SEARCH_ATTRIBUTES_OFF', API_MESSAGES.applicantListOff);
    }
    const owner = identity.role === 'applicant' ? deps.ownerTag(identity.subject) : undefined;
    if (!searchAttributes) {
      // Only an id can be searched without the attributes: each other filter is refused by name, not answered wrong.
      const lang = languageFrom(req.headers['accept-language']);
      const refused: string[] = ATTRIBUTE_FILTERS.filter((f) => filters[f] !== undefined);
      if (filters.q !== undefined && !idSearched(filters.q)) refused.push('q');
      if (refused.length > 0) {
        throw new HttpError(
          400,
          'VALIDATION_FAILED',
          API_MESSAGES.filterProblems,
          refused.map((f) => problem([f], 'NEEDS_SEARCH_ATTRIBUTES', lang)),
        );
      }
    }
    const id = filters.q === undefined ? undefined : idSearched(filters.q);
    const query = searchAttributes
      ? visibilityQuery(taskQueue, filters, owner)
      : [applicationsOf(taskQueue), ...(id ? [idClause(id)] : [])].join(' AND ');
    // An empty token is the first page, as a client that sends `pageToken=${next ?? ''}` means it.
    const serverToken = !pageToken ? undefined : serverPageToken(query, pageToken);
    if (serverToken === null) {
      throw new HttpError(400, 'VALIDATION_FAILED', API_MESSAGES.filterProblems, [
        problem(['pageToken'], 'PAGE_TOKEN_INVALID', languageFrom(req.headers['accept-language'])),
      ]);
    }
    const response = await client.workflowService.listWorkflowExecutions({
      namespace,
      query,
      pageSize,
      nextPageToken: serverToken,
    });
    const next = response.nextPageToken?.length ? pageTokenFor(query, response.nextPageToken) : undefined;
    if (!searchAttributes) {
      // Without the attributes, each listed application's own status tells what the list shows: one read each.
      const read = await Promise.all(
        (response.executions ?? []).map(async (e): Promise<ApplicationSummary | undefined> => {
          const id = e.execution?.workflowId ?? '';
          try {
            // Within seconds: a workflow whose tasks fail keeps its query waiting, and with it the whole page.
            const status = await client.connection.withDeadline(Date.now() + ITEM_READ_DEADLINE_MS, () =>
              readStatus(client, id),
            );
            return summaryOf(e, refreshSla(status, calendar, now().getTime()));
          } catch (err) {
            if (err instanceof HttpError && err.status === 404) return undefined; // gone since it was listed
            // One that cannot be read now (its workflow tasks failing, a query out of time) is listed as such: the
            // rest of the page stands (it was a 500 for the whole page).
            return {
              id,
              status: 'unknown',
              pendingTasks: [],
              breached: [],
              submittedAt: isoOfSeconds(e.startTime),
              unreadable: err instanceof Error ? err.message : String(err),
            };
          }
        }),
      );
      res.json({ items: read.filter((item) => item !== undefined), nextPageToken: next ?? null });
      return;
    }
    const items: ApplicationSummary[] = (response.executions ?? []).map((e) => {
      const attributes = decodeTypedSearchAttributes(e.searchAttributes?.indexedFields);
      const dueAt = attributes.get(dueAtKey);
      const status = attributes.get(statusKey) ?? 'running';
      const ended = endedInTemporal(e.status);
      // One that Temporal closed waits for no one (its last attribute says otherwise): open nowhere, as the schema says.
      const pendingTasks = ended ? [] : (attributes.get(pendingTaskKey) ?? []);
      return {
        id: e.execution?.workflowId ?? '',
        status,
        companyName: companyNameFromSearchText(attributes.get(companyNameKey)),
        district: attributes.get(districtKey),
        pendingTasks,
        slaLevel: attributes.get(slaLevelKey),
        dueAt: dueAt ? dueAt.toISOString() : undefined,
        breached: attributes.get(breachedKey) ?? [],
        submittedAt: isoOfSeconds(e.startTime),
        closedAt: isoOfSeconds(e.closeTime),
        workingMsLeft: ended ? undefined : workingMsLeft(status, dueAt, pendingTasks),
        ...(ended ? { endedInTemporal: ended } : {}),
      };
    });
    res.json({ items, nextPageToken: next ?? null });
  });

  /** A list item from the application's status (without search attributes), as the attributes would give it. */
  const summaryOf = (
    e: { startTime?: VisibilityTime; closeTime?: VisibilityTime },
    status: ApplicationStatus,
  ): ApplicationSummary => {
    const ended = status.endedInTemporal;
    const dueAt = status.sla?.application?.dueAt;
    const alerts = status.sla?.alerts ?? [];
    return {
      id: status.id,
      status: status.status,
      companyName: status.company.name,
      district: status.company.district,
      pendingTasks: ended ? [] : status.pendingTasks,
      slaLevel: alerts.reduce<SlaLevel>((worst, a) => worseLevel(worst, a.level), 'on_track'),
      dueAt: dueAt ? new Date(dueAt).toISOString() : undefined,
      breached: alerts.filter((a) => a.level === 'breached').map((a) => a.scope),
      submittedAt: isoOfSeconds(e.startTime),
      closedAt: isoOfSeconds(e.closeTime),
      workingMsLeft: ended
        ? undefined
        : workingMsLeft(status.status, dueAt ? new Date(dueAt) : undefined, status.pendingTasks),
      ...(ended ? { endedInTemporal: ended } : {}),
    };
  };

  router.get('/v1/stats', async (_req, res) => {
    if (!searchAttributes) {
      throw new HttpError(501, 'SEARCH_ATTRIBUTES_OFF', API_MESSAGES.statsOff);
    }
    const base = applicationsOf(taskQueue);
    const count = applicationCounter(client, taskQueue);
    // Visibility groups only by ExecutionStatus, so each figure is its own count query (in parallel).
    const [byStatus, bySla, breachesByStep, breachesByDistrict, total, completion, byTask, ended] = await Promise.all([
      countEach(APPLICATION_STATES, statusClause, count),
      openByLevel(count),
      countEach(['application', ...STEP_IDS], (s) => `KaibanBreached = '${s}'`, count),
      countEach(
        Object.keys(NANCHANG_DISTRICTS),
        (d) => `KaibanDistrict = '${d}' AND KaibanBreached = 'application'`,
        count,
      ),
      client.workflow.count(base).then((c) => c.count),
      completionFigures(base, now().getTime()),
      openByTask(count),
      count(ENDED_IN_TEMPORAL),
    ]);
    res.json({
      total,
      byStatus,
      openBySlaLevel: bySla,
      breachesByScope: breachesByStep,
      breachesByDistrict,
      openTotal: byStatus.running + byStatus.compensating,
      openByTask: byTask,
      // Closed in Temporal itself while open for Kaiban: in `total`, in no status figure (no compensation ran).
      endedInTemporal: ended,
      ...completion,
      // What staff must do before deadlines fail: the coming year's official schedule not yet deployed, and so on.
      calendarIssues: calendarReadiness(calendar, now()).issues,
      generatedAt: now().toISOString(),
    });
  });

  return router;
}
