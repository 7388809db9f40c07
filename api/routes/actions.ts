/**
 * Actions on one application: the applicant's (withdraw, answer a correction) and the operator's
 * (review, retry or skip a step in an incident, abort). Each is a Temporal update, so the caller
 * learns at once whether the action was accepted; each has an action id (the Idempotency-Key
 * header, else a new one) that makes a repeated request return the first result.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { inputProblems, parseApplication, sentPaths, type Application } from '../../domain/application';
import { OFFLINE_OUTPUT_FIELDS } from '../../domain/offline-outputs';
import {
  actionRejectionMessage,
  actionRejectionParams,
  type ActionRejectionParams,
} from '../../domain/action-rejections';
import { type Language, languageFrom, problem, problemsFromZodError } from '../../domain/problems';
import type { ApplicationStatus } from '../../domain/status';
import { isStepId, type StepId } from '../../domain/steps';
import {
  abortUpdate,
  ACTION_REJECTIONS,
  applicationQuery,
  correctionUpdate,
  reviewUpdate,
  statusQuery,
  stepActionUpdate,
  withdrawUpdate,
  type ActionRejection,
  type ActionResult,
} from '../../workflows/messages';
import { readStatus } from '../read-status';
import { isStalled, stalledError, stalledOrThrow } from '../stalled';
import { HttpError } from '../errors';
import { API_MESSAGES } from '../messages';
import { isApplicationId, requestHash } from '../ids';
import { actorOf } from '../identity';
import type { UpdateIdOf } from '../../security/update-ids';

const reason = z.string().trim().min(1).max(500);
export const withdrawBody = z.strictObject({ reason: z.string().trim().max(500).optional() });
export const abortBody = z.strictObject({ reason });
export const reviewBody = z.strictObject({
  decision: z.enum(['approve', 'reject', 'request_correction']),
  reason,
  fields: z.array(z.string().max(200)).max(50).optional(),
});
export const stepBody = z.strictObject({
  reason: z.string().trim().max(500).optional(),
  output: z.record(z.string(), z.unknown()).optional(),
  // The console's "retry all" sends it: another operator's retry may have sent the step back to its agency since.
  onlyInIncident: z
    .boolean()
    .optional()
    .describe(
      'Only if the step (or its undo) is in an incident: 409 STEP_NOT_IN_INCIDENT when it waits for its agency instead',
    ),
});
/** A correction names only what changes: top-level sections, merged over the current application. */
export const correctionBody = z.strictObject({
  applicant: z.record(z.string(), z.unknown()).optional(),
  company: z.record(z.string(), z.unknown()).optional(),
  people: z.record(z.string(), z.unknown()).optional(),
  services: z.record(z.string(), z.unknown()).optional(),
});

function parseBody<T>(schema: z.ZodType<T>, req: Request): T {
  // reportInput: a value of the wrong type is told apart from a missing one (problemsFromZodError).
  // No body at all is an empty one; a body of null is not.
  const parsed = schema.safeParse(req.body === undefined ? {} : req.body, { reportInput: true });
  if (!parsed.success) {
    throw new HttpError(
      400,
      'VALIDATION_FAILED',
      API_MESSAGES.bodyProblems,
      problemsFromZodError(parsed.error, languageFrom(req.headers['accept-language'])),
    );
  }
  return parsed.data;
}

/**
 * The action's id: its Idempotency-Key scoped to the action (and step), so that one key sent with two different
 * actions — a retry of `tax`, then of `fund` — is two actions, not the first one's result returned for the second.
 * Without a key, a new id: the request is not idempotent. With one, also a digest of what was asked (the parsed body):
 * the workflow keeps it with the result, so the same key sent with another body is told apart from a repeat
 * (IDEMPOTENCY_KEY_REUSED) — it was answered with the first result, and the new request silently dropped.
 */
function actionIdentity(req: Request, action: string, body: unknown): { actionId: string; inputHash?: string } {
  const key = req.header('idempotency-key');
  if (key === undefined) return { actionId: randomUUID() };
  if (key.length === 0 || key.length > 200)
    throw new HttpError(400, 'IDEMPOTENCY_KEY_INVALID', API_MESSAGES.idempotencyKeyInvalid(200));
  return { actionId: `${action}:${key}`, inputHash: requestHash(body).slice(0, 32) };
}

/** A query's answer, or (`run`) the first result of an action repeated once the application has finished. */
const isActionResult = <T extends Application | ApplicationStatus>(value: T | ActionResult): value is ActionResult =>
  'accepted' in value;

/** An action taken before: its first result, from the audit trail. */
function resultInAudit(status: ApplicationStatus, actionId: string): ActionResult | undefined {
  const entry = status.audit.find((a) => a.actionId === actionId);
  return (
    entry && {
      actionId,
      action: entry.action,
      accepted: true,
      at: entry.at,
      status: status.status,
      ...(entry.inputHash ? { inputHash: entry.inputHash } : {}),
    }
  );
}

/** A repeated action on an application that has finished since: the first result, from the audit trail. */
async function earlierResult(client: Client, id: string, actionId: string): Promise<ActionResult | undefined> {
  return resultInAudit(await readStatus(client, id), actionId);
}

function applicationIdOf(req: Request<{ id: string }>): string {
  if (!isApplicationId(req.params.id)) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
  return req.params.id;
}

/** Objects merge key by key; arrays and scalars are replaced. */
function mergeDeep(base: unknown, patch: unknown): unknown {
  if (patch === undefined) return base;
  if (
    base &&
    patch &&
    typeof base === 'object' &&
    typeof patch === 'object' &&
    !Array.isArray(base) &&
    !Array.isArray(patch)
  ) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') continue;
      out[k] = mergeDeep(out[k], v);
    }
    return out;
  }
  return patch;
}

/** The body field a rejection of the workflow's own rules is about, named in the answer's issues as schema errors are. */
const REJECTED_FIELDS: Partial<Record<ActionRejection, string>> = {
  REASON_REQUIRED: 'reason',
  APPLICATION_INVALID: 'application',
  NAME_CHANGE_NOT_ALLOWED: 'application.company.name',
  NAME_REFUSED: 'decision',
};

/** The field a rejection names: a skip's missing output is the step's own (domain/offline-outputs.ts). */
function rejectedField(code: ActionRejection, step: StepId | undefined): string | undefined {
  if (code === 'OUTPUT_REQUIRED') return (step && OFFLINE_OUTPUT_FIELDS[step]) || 'output';
  return REJECTED_FIELDS[code];
}

/** A refused action's answer: its HTTP status, its message in `language`, and the field it is about as an issue. */
function refusal(
  code: ActionRejection,
  params: ActionRejectionParams,
  language: Language,
  message = actionRejectionMessage(code, params, language) ?? code,
  step?: StepId,
): HttpError {
  const field = rejectedField(code, step);
  const issues = field ? [{ path: field, code, message }] : undefined;
  return new HttpError(ACTION_REJECTIONS[code], code, message, issues);
}

/**
 * How long an action waits for the workflow to take it: with no worker running, an update waits for ever, and so did
 * the request. Past it, `503 TEMPORAL_UNAVAILABLE`: the update may still be taken once a worker is back, and a repeat
 * with the same Idempotency-Key is the same update (its id), so it is safe.
 */
export const ACTION_DEADLINE_MS = 30_000;

export function actionsRouter(deps: { client: Client; updateIdOf: UpdateIdOf }): express.Router {
  const { client } = deps;
  const router = express.Router();

  /**
   * `actionId`: a repeated action on a finished application answers with its first result (from the audit trail). A
   * refusal is answered in `language` (domain/action-rejections.ts), naming the field it is about (`step`'s own).
   */
  async function run<A>(
    id: string,
    send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<A>,
    options: { actionId?: string; step?: StepId; language: Language },
  ): Promise<A | ActionResult> {
    const { actionId, language } = options;
    const handle = client.workflow.getHandle(id);
    try {
      const { status, raw } = await handle.describe();
      if (status.name !== 'RUNNING') {
        const earlier = actionId === undefined ? undefined : await earlierResult(client, id, actionId);
        if (earlier) return earlier;
        throw refusal('APPLICATION_FINISHED', { message: 'closed' }, language);
      }
      // Not sent to an application held up by a fault: it would wait there, to be carried out whenever it goes on.
      // (A check that fails leaves the action to be sent: it is not what the caller asked for.)
      if (await isStalled(client, id, raw).catch(() => false)) throw stalledError();
      return await send(handle);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.applicationNotFound);
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        const code = err.cause.type as ActionRejection;
        if (ACTION_REJECTIONS[code]) {
          // A worker from before the catalogue gives no parameters: its own (English) message then stands.
          const detail: unknown = err.cause.details?.[0];
          const params = actionRejectionParams(detail);
          const message = (detail !== undefined && actionRejectionMessage(code, params, language)) || err.cause.message;
          throw refusal(code, params, language, message, options.step);
        }
      }
      return stalledOrThrow(client, id, err);
    }
  }

  /** The action's result; a first result of the same key for another request is a conflict. */
  const answer = (res: Response, result: ActionResult, inputHash: string | undefined) => {
    if (result.inputHash !== undefined && inputHash !== undefined && result.inputHash !== inputHash) {
      throw new HttpError(409, 'IDEMPOTENCY_KEY_REUSED', API_MESSAGES.idempotencyKeyReusedAction(result.action));
    }
    res.status(200).json(result);
  };

  /**
   * Sends an action as the workflow update it is and answers with its result. The update id is a keyed digest of the
   * action id, which may hold a caller's key made of personal data (security/update-ids.ts).
   */
  async function act<I extends { actionId: string; inputHash?: string; step?: StepId }>(
    req: Request,
    res: Response,
    id: string,
    update: UpdateDefinition<ActionResult, [I]>,
    input: I,
  ): Promise<void> {
    const options = { actionId: input.actionId, step: input.step, language: languageFrom(req.get('accept-language')) };
    answer(
      res,
      await run(
        id,
        (h) =>
          client.connection.withDeadline(Date.now() + ACTION_DEADLINE_MS, () =>
            h.executeUpdate(update, { args: [input], updateId: deps.updateIdOf(input.actionId) }),
          ),
        options,
      ),
      input.inputHash,
    );
  }

  router.post('/v1/applications/:id/withdraw', async (req: Request<{ id: string }>, res) => {
    const id = applicationIdOf(req);
    const body = parseBody(withdrawBody, req);
    const input = {
      ...actionIdentity(req, 'withdraw', body),
      by: actorOf(res),
      reason: body.reason ?? 'withdrawn by the applicant',
    };
    await act(req, res, id, withdrawUpdate, input);
  });

  router.post('/v1/applications/:id/abort', async (req: Request<{ id: string }>, res) => {
    const id = applicationIdOf(req);
    const body = parseBody(abortBody, req);
    const input = { ...actionIdentity(req, 'abort', body), by: actorOf(res), reason: body.reason };
    await act(req, res, id, abortUpdate, input);
  });

  router.post('/v1/applications/:id/review', async (req: Request<{ id: string }>, res) => {
    const id = applicationIdOf(req);
    const body = parseBody(reviewBody, req);
    const input = { ...actionIdentity(req, 'review', body), by: actorOf(res), ...body };
    await act(req, res, id, reviewUpdate, input);
  });

  router.post('/v1/applications/:id/corrections', async (req: Request<{ id: string }>, res) => {
    const id = applicationIdOf(req);
    const patch = parseBody(correctionBody, req);
    const identity = actionIdentity(req, 'correction', patch);
    const correctionId = identity.actionId;
    const lang = languageFrom(req.headers['accept-language']);
    const current = await run(id, (h) => h.query(applicationQuery), { actionId: correctionId, language: lang });
    if (isActionResult(current)) return answer(res, current, identity.inputHash); // answered before the application ended
    const proposed = mergeDeep(current, patch);
    const merged = parseApplication(proposed, lang);
    // Held to what it sends: the materials as they stood were accepted (a bank date since past included); a past date
    // sent back to confirm it is not.
    const sent = sentPaths(patch);
    const told = inputProblems(proposed, lang, sent);
    // A body that sends no value (`{}`, `{"company": {}}`) would close the request with nothing said; the fields sent
    // as they are confirm them.
    const empty = sent.length === 0;
    if (!merged.ok || told.length > 0 || empty) {
      // Problems of a correction nobody asked for are beside the point: that it was not asked for comes first, as
      // the update's validator says of a valid one. A repeat of one already taken is its first result.
      const status = await run(id, (h) => h.query(statusQuery), { actionId: correctionId, language: lang });
      if (isActionResult(status)) return answer(res, status, identity.inputHash);
      const taken = resultInAudit(status, correctionId);
      if (taken) return answer(res, taken, identity.inputHash);
      if (!status.pendingTasks.includes('correction')) throw refusal('NO_CORRECTION_PENDING', {}, lang);
      if (!merged.ok || told.length > 0)
        throw new HttpError(400, 'VALIDATION_FAILED', API_MESSAGES.correctionProblems, [
          ...(merged.ok ? [] : merged.problems),
          ...told,
        ]);
      const asked = status.review?.correction?.fields ?? [];
      throw new HttpError(400, 'VALIDATION_FAILED', API_MESSAGES.correctionEmpty, [
        problem(asked.length > 0 ? [asked.join(', ')] : [], 'NOTHING_CHANGED', lang),
      ]);
    }
    const input = { ...identity, by: actorOf(res), application: merged.value as Application };
    await act(req, res, id, correctionUpdate, input);
  });

  for (const action of ['retry', 'skip'] as const) {
    router.post(
      `/v1/applications/:id/steps/:step/${action}`,
      async (req: Request<{ id: string; step: string }>, res) => {
        const id = applicationIdOf(req);
        const { step } = req.params;
        if (!isStepId(step)) throw new HttpError(404, 'NOT_FOUND', API_MESSAGES.stepNotFound(step));
        const body = parseBody(stepBody, req);
        // `false` asks what its absence asks: the same request under the same Idempotency-Key.
        const { onlyInIncident, ...unconditional } = body;
        const input = {
          ...actionIdentity(req, `${action}:${step}`, onlyInIncident ? body : unconditional),
          by: actorOf(res),
          step,
          action,
          reason: body.reason,
          output: body.output,
          ...(onlyInIncident ? { onlyInIncident: true } : {}),
        };
        await act(req, res, id, stepActionUpdate, input);
      },
    );
  }

  return router;
}
