/**
 * `npm run record-histories [-- --out test/histories] [--only completed,withdrawn] [--force]`
 *
 * Runs one application down every path of the businessStartup workflow on a throwaway Temporal dev
 * server (real time, Kaiban's search attributes, the agency simulator, the API for callbacks, the
 * worker with the current workflow code) and writes each history as JSON into test/histories/,
 * where test/replay.test.ts replays them against the workflow code of every later change.
 *
 * Histories are recorded without the payload codec (failures still go through the production
 * failure converter): replay does not depend on encryption, and plain JSON keeps them readable and
 * diffable. The applications are synthetic (the sample fixture under made-up company names).
 * See README "Upgrading workflow code safely" for when to record and when to keep old histories.
 * A history already there is overwritten only if the current code still replays it (or with --force).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { startApi } from '../api/server';
import { loadConfig } from '../config';
import type { Application } from '../domain/application';
import type { Actor, ApplicationStatus } from '../domain/status';
import { AGENCY_IDS, type AgencyId, type StepId } from '../domain/steps';
import { createLogger } from '../observability/logger';
import { FAILURE_CONVERTER_PATH, newCodecKeySpec } from '../security/codec';
import { startSimulator, type RunningSimulator } from '../simulator/server';
import { freshApplication, startApplication } from '../test/helpers/fixtures';
import { historyToJson, readHistoryFile } from '../test/helpers/histories';
import { realtimeSlaEnv } from '../test/helpers/sla-realtime';
import { startWebhookReceiver } from '../test/helpers/webhook-receiver';
import { startTemporalProcess } from '../test/helpers/processes';
import { patchSimulator } from '../test/helpers/stack';
import { activityDepsFromConfig, createKaibanWorker, replaySinks } from '../worker/worker';
import {
  abortUpdate,
  agencyDecisionSignal,
  applicationQuery,
  correctionUpdate,
  reviewUpdate,
  statusQuery,
  stepActionUpdate,
  withdrawUpdate,
  type ActionInput,
} from '../workflows/messages';

const operator = { subject: 'op-recorder', role: 'operator' as const };
const applicant = { subject: 'applicant-recorder', role: 'applicant' as const };
const DEFAULT_AGENCY = {
  processingMs: 100,
  transientFailureRate: 0,
  dropCallbackRate: 0,
  rejectAll: false,
  callbacks: true,
  refuseUndo: false,
  answerDelayMs: 0,
};

interface Context {
  client: Client;
  taskQueue: string;
  simulator: RunningSimulator;
  /**
   * `notifying`: on the worker that notifies applicants through the simulator's message platform (platformAvailable);
   * `sla`: on the worker whose SLA budgets are seconds long (alerts within the recording); `impatient`: on the worker
   * whose filings may stay undecided for seconds only before they are incidents (AGENCY_SILENT).
   */
  start(
    path: string,
    edit?: (app: Application) => void,
    worker?: 'default' | 'sla' | 'impatient' | 'notifying',
  ): Promise<WorkflowHandle>;
  agencies(settings: Partial<typeof DEFAULT_AGENCY>, which?: readonly AgencyId[]): Promise<void>;
  /** The next acceptance's first attempt fails (its clock throws): the acceptance is retried a second later. */
  failNextAcceptance(): void;
  /** The simulator's message platform takes notifications, or answers 503 (an outage). */
  platformAvailable(available: boolean): Promise<void>;
}

/** One path through the workflow: what to do, and the final state it must reach. */
interface PathRecipe {
  name: string;
  expect: ApplicationStatus['status'];
  /**
   * Why the history is kept as recorded by older code (a patch's older branch): the current code would take the newer
   * branch, so it is never recorded again — the recipe documents how it was made.
   */
  frozen?: string;
  run(ctx: Context): Promise<WorkflowHandle>;
}

let actionCounter = 0;
const action = (by: Actor = operator, reason?: string): ActionInput => ({
  actionId: `recorder-${++actionCounter}`,
  by,
  ...(reason ? { reason } : {}),
});

async function waitFor(
  handle: WorkflowHandle,
  predicate: (s: ApplicationStatus) => boolean,
  timeoutMs = 60_000,
): Promise<ApplicationStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await handle.query(statusQuery).catch(() => undefined);
    if (status && predicate(status)) return status;
    if (Date.now() > deadline)
      throw new Error(
        `${handle.workflowId}: condition not reached; last ${JSON.stringify(status?.steps.map((s) => [s.id, s.state]))}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

const stepState = (s: ApplicationStatus, id: StepId) => s.steps.find((step) => step.id === id)?.state;
const withSensitiveName = (a: Application) => void (a.company.name = a.company.name.replace('科技', '投资'));

/** An application with a sensitive name, sent back by the reviewer for a correction of `fields`. */
async function sentBackForCorrection(
  ctx: Context,
  name: string,
  reason: string,
  fields: string[],
): Promise<WorkflowHandle> {
  const handle = await ctx.start(name, withSensitiveName);
  await correctionAsked(handle, reason, fields);
  return handle;
}

/** Once the review waits, the reviewer asks for a correction of `fields`; resolves once the applicant is asked. */
async function correctionAsked(handle: WorkflowHandle, reason: string, fields: string[]): Promise<void> {
  await waitFor(handle, (s) => s.pendingTasks.includes('review'));
  await handle.executeUpdate(reviewUpdate, {
    args: [{ ...action(operator), decision: 'request_correction', reason, fields }],
  });
  await waitFor(handle, (s) => s.pendingTasks.includes('correction'));
}

/** The applicant answers with another company name, which the reviewer approves once it is back in review. */
async function anotherNameApproved(handle: WorkflowHandle, reason: string): Promise<void> {
  await handle.executeUpdate(correctionUpdate, { args: [{ ...action(applicant), application: withAnotherName() }] });
  await approveCorrected(handle, reason);
}

/** A fresh application under another company name, as the applicant's answer to a name correction. */
function withAnotherName(): Application {
  const corrected = freshApplication();
  corrected.company.name = corrected.company.name.replace('科技', '信息');
  return corrected;
}

/** The reviewer approves the corrected application once it is back in review. */
async function approveCorrected(handle: WorkflowHandle, reason: string): Promise<void> {
  await waitFor(handle, (s) => s.pendingTasks.includes('review'));
  await handle.executeUpdate(reviewUpdate, { args: [{ ...action(operator), decision: 'approve', reason }] });
}

/** The applicant moves the company to another district when the reviewer sends the application back. */
async function movedToAnotherDistrict(ctx: Context, name: string): Promise<WorkflowHandle> {
  const handle = await sentBackForCorrection(ctx, name, '住所请核实', ['company.district', 'company.address']);
  const corrected = (await handle.query(applicationQuery)) as Application;
  corrected.company.district = '360102';
  corrected.company.address = '八一大道2号';
  await handle.executeUpdate(correctionUpdate, { args: [{ ...action(applicant), application: corrected }] });
  await approveCorrected(handle, '已核实');
  return handle;
}

/**
 * The applicant's new name cannot be reserved: the old reservation's release is refused and answered for offline, then
 * the regulator turns every filing of the new name away — an incident of the license's step. Agencies back to normal.
 */
async function correctedNameTurnedAway(ctx: Context, name: string): Promise<WorkflowHandle> {
  const handle = await sentBackForCorrection(ctx, name, '名称含“投资”，请修改', ['company.name']);
  await ctx.agencies({ refuseUndo: true }, ['market']);
  await handle.executeUpdate(correctionUpdate, {
    args: [{ ...action(applicant), application: withAnotherName() }],
  });
  await waitFor(handle, (s) => s.pendingTasks.includes('incident:name'));
  await ctx.agencies({ refuseUndo: false, transientFailureRate: 1 }, ['market']);
  await handle.executeUpdate(stepActionUpdate, {
    args: [{ ...action(operator, '窗口已注销原名称'), step: 'name', action: 'skip' }],
  });
  await waitFor(handle, (s) => s.pendingTasks.includes('incident:license'), 120_000);
  await ctx.agencies(DEFAULT_AGENCY);
  return handle;
}

/** The corrected name turned away (correctedNameTurnedAway); the license retried, the correction approved. */
async function correctedNameRetried(ctx: Context, name: string): Promise<WorkflowHandle> {
  const handle = await correctedNameTurnedAway(ctx, name);
  await handle.executeUpdate(stepActionUpdate, {
    args: [{ ...action(operator), step: 'license', action: 'retry' }],
  });
  await approveCorrected(handle, '已更正');
  return handle;
}

/** An operator marks `step`, in an incident, done offline at the agency's window. */
function markDoneOffline(
  handle: WorkflowHandle,
  step: StepId,
  reason: string,
  output: Record<string, unknown>,
): Promise<unknown> {
  return handle.executeUpdate(stepActionUpdate, {
    args: [{ ...action(operator, reason), step, action: 'skip', output }],
  });
}

/**
 * Aborts once the bank waits on its slow decision (`whileCompensating` runs right after), then an operator answers the
 * offline undo of `step`, done at the window before.
 */
async function abortedThenUndoneOffline(
  handle: WorkflowHandle,
  step: StepId,
  reason: string,
  whileCompensating: () => Promise<void> = async () => undefined,
): Promise<void> {
  await waitFor(handle, (s) => stepState(s, 'bank') === 'pending');
  await handle.executeUpdate(abortUpdate, { args: [action(operator, '申请人放弃')] });
  await whileCompensating();
  await waitFor(handle, (s) => s.pendingTasks.includes(`incident:${step}`));
  await handle.executeUpdate(stepActionUpdate, { args: [{ ...action(operator, reason), step, action: 'skip' }] });
}

export const PATHS: PathRecipe[] = [
  { name: 'completed', expect: 'completed', run: (ctx) => ctx.start('completed') },
  {
    name: 'callback-lost-polled',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ dropCallbackRate: 1 }, ['market']);
      const handle = await ctx.start('callback-lost-polled');
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The tax bureau answers "pending", then stops answering while it works on the filing: its polls fail, the step
    // stays pending, and the decision comes by callback (patch poll-failure-waits-for-callback).
    name: 'poll-failed-callback-decided',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 4000 }, ['tax']);
      const handle = await ctx.start('poll-failed-callback-decided');
      await waitFor(handle, (s) => stepState(s, 'tax') === 'pending');
      await ctx.agencies({ transientFailureRate: 1 }, ['tax']);
      await waitFor(handle, (s) => s.steps.find((x) => x.id === 'tax')?.error?.code === 'AGENCY_UNREACHABLE');
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The tax bureau's status service is down: its polls fail until the step is an incident (the impatient worker bears
    // one failed poll); its decision then comes by callback and completes the step with no operator (patch
    // incident-takes-callback-decision).
    name: 'poll-incident-callback-decided',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 10_000 }, ['tax']);
      const handle = await ctx.start('poll-incident-callback-decided', undefined, 'impatient');
      await waitFor(handle, (s) => stepState(s, 'tax') === 'pending');
      await ctx.agencies({ transientFailureRate: 1 }, ['tax']);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:tax'));
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The tax bureau leaves its filing undecided past the patience: an incident (AGENCY_SILENT), polling stopped; its
    // callback then completes the step with no operator (patch agency-silence-incident).
    name: 'agency-silent-callback-decided',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 10_000 }, ['tax']);
      const handle = await ctx.start('agency-silent-callback-decided', undefined, 'impatient');
      await waitFor(handle, (s) => s.steps.find((x) => x.id === 'tax')?.error?.code === 'AGENCY_SILENT');
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    name: 'withdrawn',
    expect: 'withdrawn',
    async run(ctx) {
      await ctx.agencies({ processingMs: 600_000 }, ['police']);
      const handle = await ctx.start('withdrawn');
      await waitFor(handle, (s) => stepState(s, 'seal') === 'pending' && stepState(s, 'fund') === 'done');
      await handle.executeUpdate(withdrawUpdate, { args: [action(applicant, 'changed my mind')] });
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The withdrawal arrives while the acceptance waits for its retry: the graph starts cancelled and files nothing
    // (patch no-filing-after-end: this history holds its marker).
    name: 'withdrawn-before-acceptance',
    expect: 'withdrawn',
    async run(ctx) {
      ctx.failNextAcceptance();
      const handle = await ctx.start('withdrawn-before-acceptance');
      await handle.executeUpdate(withdrawUpdate, { args: [action(applicant, 'changed my mind at once')] });
      await handle.result();
      return handle;
    },
  },
  {
    name: 'rejected-by-agency',
    expect: 'rejected',
    frozen: "the older branch of refusal-is-incident (the bank's refusal rejected the whole application)",
    async run(ctx) {
      await ctx.agencies({ rejectAll: true }, ['bank']);
      const handle = await ctx.start('rejected-by-agency');
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    name: 'rejected-name',
    expect: 'rejected',
    frozen: "the older branch of name-refusal-to-review (the regulator's refusal of the name rejected the application)",
    run: (ctx) => ctx.start('rejected-name', (a) => void (a.company.name = a.company.name.replace('科技', '国家科技'))),
  },
  {
    // The regulator refuses the name (国家 is forbidden): an operator reviews it and asks for another name, which is
    // reserved once the applicant answers (patch name-refusal-to-review).
    name: 'name-refused-corrected',
    expect: 'completed',
    async run(ctx) {
      const handle = await ctx.start(
        'name-refused-corrected',
        (a) => void (a.company.name = a.company.name.replace('科技', '国家科技')),
      );
      await correctionAsked(handle, '名称含禁用词', ['company.name']);
      await anotherNameApproved(handle, '名称已更正');
      return handle;
    },
  },
  {
    name: 'review-approved',
    expect: 'completed',
    async run(ctx) {
      const handle = await ctx.start('review-approved', withSensitiveName);
      await waitFor(handle, (s) => s.pendingTasks.includes('review'));
      await handle.executeUpdate(reviewUpdate, {
        args: [{ ...action(operator), decision: 'approve', reason: '投资咨询，不涉及金融业务' }],
      });
      return handle;
    },
  },
  {
    name: 'review-rejected',
    expect: 'rejected',
    async run(ctx) {
      const handle = await ctx.start('review-rejected', withSensitiveName);
      await waitFor(handle, (s) => s.pendingTasks.includes('review'));
      await handle.executeUpdate(reviewUpdate, {
        args: [{ ...action(operator), decision: 'reject', reason: '经营范围涉及金融业务' }],
      });
      return handle;
    },
  },
  {
    name: 'correction',
    expect: 'completed',
    async run(ctx) {
      const handle = await sentBackForCorrection(ctx, 'correction', '名称含“投资”，请修改', ['company.name']);
      await anotherNameApproved(handle, '已更正');
      return handle;
    },
  },
  {
    // The applicant moves the company to another district (patch upsert-corrected-district).
    name: 'correction-moved-district',
    expect: 'completed',
    frozen: 'the older branch of reserve-name-for-corrected-filing (the district moved, the name not reserved again)',
    run: (ctx) => movedToAnotherDistrict(ctx, 'correction-moved-district'),
  },
  {
    // The same correction on the current code: the name's filing carries the district, so the name is reserved again
    // there (patch reserve-name-for-corrected-filing, with upsert-corrected-district).
    name: 'correction-moved-district-name-reserved',
    expect: 'completed',
    run: (ctx) => movedToAnotherDistrict(ctx, 'correction-moved-district-name-reserved'),
  },
  {
    // The corrected name cannot be reserved (the old one's release refused and answered for offline, then the
    // regulator down): an incident of the license; its retry reserves the name first (patch reserve-owed-name).
    name: 'corrected-name-retried',
    expect: 'completed',
    frozen:
      'the older branch of license-waits-for-owed-name (the license stayed `incident` while the name was reserved)',
    run: (ctx) => correctedNameRetried(ctx, 'corrected-name-retried'),
  },
  {
    // As corrected-name-retried, with the license shown `waiting` while its retry reserves the owed name (patch
    // license-waits-for-owed-name).
    name: 'corrected-name-retried-license-waits',
    expect: 'completed',
    run: (ctx) => correctedNameRetried(ctx, 'corrected-name-retried-license-waits'),
  },
  {
    // As corrected-name-retried, but the regulator refuses the owed name on the license's retry: reviewed (patch
    // owed-name-refusal-to-review), then the applicant gives another name, reserved, and the license filed on it.
    name: 'owed-name-refused-reviewed',
    expect: 'completed',
    async run(ctx) {
      const handle = await correctedNameTurnedAway(ctx, 'owed-name-refused-reviewed');
      await ctx.agencies({ rejectAll: true }, ['market']);
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator), step: 'license', action: 'retry' }],
      });
      await waitFor(handle, (s) => s.pendingTasks.includes('review'));
      await ctx.agencies(DEFAULT_AGENCY);
      await correctionAsked(handle, '名称不予核准', ['company.name']);
      await anotherNameApproved(handle, '已更正');
      return handle;
    },
  },
  {
    // The corrected name's filing reaches the regulator but goes unanswered (the answer after the adapter gave up,
    // then the regulator down): an incident of the license, which the operator marks done offline. The name is done
    // offline with it, and its filing withdrawn beside the chain once the regulator is back (patch
    // owed-name-done-with-license).
    name: 'corrected-name-license-skipped',
    expect: 'completed',
    async run(ctx) {
      const handle = await sentBackForCorrection(ctx, 'corrected-name-license-skipped', '名称含“投资”，请修改', [
        'company.name',
      ]);
      await ctx.agencies({ answerDelayMs: 12_000 }, ['market']);
      await handle.executeUpdate(correctionUpdate, {
        args: [{ ...action(applicant), application: withAnotherName() }],
      });
      const deadline = Date.now() + 60_000;
      for (let held = 0; held < 2; await new Promise((r) => setTimeout(r, 100))) {
        if (Date.now() > deadline) throw new Error('the corrected name was not filed within 60 s');
        const res = await fetch(`${ctx.simulator.url}/records?applicationId=${handle.workflowId}`);
        held = ((await res.json()) as { records: { procedure: string }[] }).records.filter(
          (r) => r.procedure === 'name_reservation',
        ).length;
      }
      await ctx.agencies({ answerDelayMs: 0, transientFailureRate: 1 }, ['market']);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:license'), 120_000);
      await markDoneOffline(handle, 'license', '窗口已办理营业执照', { uscc: '91350100M000100Y43' });
      await waitFor(handle, (s) => s.status === 'completed');
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The regulator is down from the start: the name is an incident, which the operator marks done offline (reserved
    // at the window). The reviewer then asks for another name: the one reserved at the window is released there first
    // (an offline undo the operator answers), then the corrected one is reserved online (patch
    // offline-name-released-before-correction).
    name: 'name-offline-then-corrected',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ transientFailureRate: 1 }, ['market']);
      const handle = await ctx.start('name-offline-then-corrected', withSensitiveName);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:name'));
      await ctx.agencies(DEFAULT_AGENCY);
      await markDoneOffline(handle, 'name', '已在窗口办理名称', { reservationId: 'MZ-WINDOW-0001' });
      await waitFor(handle, (s) => s.pendingTasks.includes('review'));
      await handle.executeUpdate(reviewUpdate, {
        args: [
          {
            ...action(operator),
            decision: 'request_correction',
            reason: '名称含“投资”，请修改',
            fields: ['company.name'],
          },
        ],
      });
      await waitFor(handle, (s) => s.pendingTasks.includes('correction'));
      await handle.executeUpdate(correctionUpdate, {
        args: [{ ...action(applicant), application: withAnotherName() }],
      });
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:name'));
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator, '原名称已在窗口注销'), step: 'name', action: 'skip' }],
      });
      await approveCorrected(handle, '名称已更正');
      await handle.result();
      return handle;
    },
  },
  {
    name: 'incident-retried',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ transientFailureRate: 1 }, ['police']);
      const handle = await ctx.start('incident-retried');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:seal'));
      await ctx.agencies(DEFAULT_AGENCY);
      await handle.executeUpdate(stepActionUpdate, { args: [{ ...action(operator), step: 'seal', action: 'retry' }] });
      return handle;
    },
  },
  {
    // The bank's refusal is an incident (patch refusal-is-incident); an operator retries once the bank takes it, and the
    // bank is filed again under a new key.
    name: 'refused-step-retried',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ rejectAll: true }, ['bank']);
      const handle = await ctx.start('refused-step-retried');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:bank'));
      await ctx.agencies(DEFAULT_AGENCY);
      await handle.executeUpdate(stepActionUpdate, { args: [{ ...action(operator), step: 'bank', action: 'retry' }] });
      return handle;
    },
  },
  {
    // The tax bureau has not decided; an operator who had it done at the window marks the step done offline while it
    // waits (patch act-on-agency-wait): the wait ends as an incident answered at once, the filing is withdrawn.
    name: 'waiting-step-skipped',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 600_000 }, ['tax']);
      const handle = await ctx.start('waiting-step-skipped');
      await waitFor(handle, (s) => s.steps.find((x) => x.id === 'tax')?.waitingSince !== undefined);
      await ctx.agencies(DEFAULT_AGENCY);
      await markDoneOffline(handle, 'tax', '窗口线下已办理税务登记', {});
      return handle;
    },
  },
  {
    // The message platform is down when the dossier is to be sealed: the archive step is an incident, and an operator
    // who told the applicant otherwise skips it, which seals the dossier without notifying (patch
    // archive-told-offline).
    name: 'archive-told-offline',
    expect: 'completed',
    async run(ctx) {
      await ctx.platformAvailable(false);
      const handle = await ctx.start('archive-told-offline', undefined, 'notifying');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:archive'));
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator, '已电话告知申请人'), step: 'archive', action: 'skip' }],
      });
      await ctx.platformAvailable(true);
      return handle;
    },
  },
  {
    name: 'incident-skipped',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ transientFailureRate: 1 }, ['hrss']);
      const handle = await ctx.start('incident-skipped');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:social'));
      await ctx.agencies(DEFAULT_AGENCY);
      await markDoneOffline(handle, 'social', '窗口线下已办理社保登记', {
        employerSocialSecurityNumber: '3601130000000001',
      });
      return handle;
    },
  },
  {
    // The tax bureau answered the filing with a ticket, then polling it failed for good; the operator skips the step,
    // and the filing the bureau holds is withdrawn before the chain goes on (patch cancel-filing-on-skip).
    name: 'incident-skipped-filed',
    expect: 'completed',
    frozen: 'the older branch of withdraw-skipped-filing-beside-chain (cancel-filing-on-skip)',
    async run(ctx) {
      await ctx.agencies({ processingMs: 600_000, callbacks: false }, ['tax']);
      const handle = await ctx.start('incident-skipped-filed');
      await waitFor(handle, (s) => stepState(s, 'tax') === 'pending');
      await ctx.agencies({ transientFailureRate: 1 }, ['tax']);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:tax'));
      await ctx.agencies(DEFAULT_AGENCY);
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator, '已在税务窗口办理'), step: 'tax', action: 'skip' }],
      });
      return handle;
    },
  },
  {
    // As above, but the bureau is still down when the operator skips the step: the application completes, and the
    // filing the bureau holds is withdrawn beside the chain once it is back (patch withdraw-skipped-filing-beside-chain).
    name: 'incident-skipped-filed-agency-down',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 600_000, callbacks: false }, ['tax']);
      const handle = await ctx.start('incident-skipped-filed-agency-down');
      await waitFor(handle, (s) => stepState(s, 'tax') === 'pending');
      await ctx.agencies({ transientFailureRate: 1 }, ['tax']);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:tax'));
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator, '已在税务窗口办理'), step: 'tax', action: 'skip' }],
      });
      await waitFor(handle, (s) => s.status === 'completed');
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The fund centre registers the account but answers after the adapter has given up, then goes down: no answer
    // ever came. The operator skips the step while the centre is down; the application completes, and the filing the
    // centre holds is learnt by filing again under the same key and withdrawn once it is back (patch
    // cancel-unanswered-filing-on-skip).
    name: 'incident-skipped-unanswered',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 0, answerDelayMs: 12_000, callbacks: false }, ['fund']);
      const handle = await ctx.start('incident-skipped-unanswered');
      for (let held = false; !held; await new Promise((r) => setTimeout(r, 100))) {
        const res = await fetch(`${ctx.simulator.url}/records?applicationId=${handle.workflowId}`);
        held = ((await res.json()) as { records: { agency: string }[] }).records.some((r) => r.agency === 'fund');
      }
      await ctx.agencies({ transientFailureRate: 1 }, ['fund']);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:fund'));
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator, '已在公积金中心窗口开户'), step: 'fund', action: 'skip' }],
      });
      await waitFor(handle, (s) => s.status === 'completed');
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The corrected name is turned away by the regulator (503) within the license's step, an incident of the license,
    // then an abort: nothing is filed for the name or the license just to be cancelled (patches
    // no-undo-of-unreached-corrected-name, no-undo-of-unreached-filing).
    name: 'corrected-name-aborted-turned-away',
    expect: 'aborted',
    async run(ctx) {
      const handle = await correctedNameTurnedAway(ctx, 'corrected-name-aborted-turned-away');
      await handle.executeUpdate(abortUpdate, { args: [action(operator, '申请人放弃')] });
      return handle;
    },
  },
  {
    // Social security done offline (skip) while the bank is slow, then an abort: the compensation waits for an operator
    // to undo it offline too, after the bank's cancellation and before the license (patch offline-undo-of-skipped-step).
    name: 'skipped-then-aborted',
    expect: 'aborted',
    async run(ctx) {
      await ctx.agencies({ transientFailureRate: 1 }, ['hrss']);
      await ctx.agencies({ processingMs: 600_000 }, ['bank']);
      const handle = await ctx.start('skipped-then-aborted');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:social'));
      await ctx.agencies({ transientFailureRate: 0 }, ['hrss']);
      await markDoneOffline(handle, 'social', '窗口线下已办理社保登记', {
        employerSocialSecurityNumber: '3601130000000001',
      });
      await abortedThenUndoneOffline(handle, 'social', '窗口已注销社保登记');
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // Seal done offline while the police (holding its ticket) are down and the bank slow, then an abort: the license is
    // revoked only after the seal's filing is withdrawn (patch undo-after-withdrawals, with offline-undo-of-skipped-step).
    name: 'skipped-withdrawing-then-aborted',
    expect: 'aborted',
    async run(ctx) {
      await ctx.agencies({ processingMs: 600_000, callbacks: false }, ['police']);
      await ctx.agencies({ processingMs: 600_000 }, ['bank']);
      const handle = await ctx.start('skipped-withdrawing-then-aborted');
      await waitFor(handle, (s) => stepState(s, 'seal') === 'pending');
      await ctx.agencies({ transientFailureRate: 1 }, ['police']);
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:seal'), 120_000);
      await markDoneOffline(handle, 'seal', '窗口已刻章备案', { seals: [{ type: 'official', recordId: 'OFFLINE-1' }] });
      await abortedThenUndoneOffline(handle, 'seal', '窗口已注销印章备案', () =>
        ctx.agencies({ transientFailureRate: 0 }, ['police']),
      );
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    name: 'incident-aborted',
    expect: 'aborted',
    async run(ctx) {
      await ctx.agencies({ transientFailureRate: 1 }, ['tax']);
      const handle = await ctx.start('incident-aborted');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:tax'));
      await ctx.agencies(DEFAULT_AGENCY);
      await handle.executeUpdate(abortUpdate, { args: [action(operator, '税务系统长时间不可用，申请人同意终止')] });
      return handle;
    },
  },
  {
    // As incident-aborted, recorded after the adapter learnt to tell a filing turned away (503) from one that may have
    // reached the agency: the compensation asks the tax bureau nothing (patch no-undo-of-unreached-filing).
    name: 'incident-aborted-turned-away',
    expect: 'aborted',
    async run(ctx) {
      await ctx.agencies({ transientFailureRate: 1 }, ['tax']);
      const handle = await ctx.start('incident-aborted-turned-away');
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:tax'));
      await ctx.agencies(DEFAULT_AGENCY);
      await handle.executeUpdate(abortUpdate, { args: [action(operator, '税务系统长时间不可用，申请人同意终止')] });
      return handle;
    },
  },
  {
    // A decision signalled for the tax step with the seal's ticket (two agencies' alike tickets): the seal waits for
    // its own, which the police give by callback 3 s after the filing.
    name: 'decision-for-another-step',
    expect: 'completed',
    async run(ctx) {
      await ctx.agencies({ processingMs: 3000 }, ['police']);
      const handle = await ctx.start('decision-for-another-step');
      const waiting = await waitFor(
        handle,
        (s) => stepState(s, 'seal') === 'pending' && stepState(s, 'tax') === 'done',
      );
      const ticket = waiting.steps.find((s) => s.id === 'seal')!.ticket!;
      await handle.signal(agencyDecisionSignal, { step: 'tax', ticket, status: 'approved', result: {} });
      await handle.result();
      await ctx.agencies(DEFAULT_AGENCY);
      return handle;
    },
  },
  {
    // The police refuse to undo the seal filing: that undo waits for an operator (the license's undo waits with it),
    // the agency relents, the operator retries.
    name: 'undo-incident-retried',
    expect: 'withdrawn',
    async run(ctx) {
      await ctx.agencies({ processingMs: 600_000, refuseUndo: true }, ['police']);
      const handle = await ctx.start('undo-incident-retried');
      await waitFor(handle, (s) => stepState(s, 'seal') === 'pending' && stepState(s, 'fund') === 'done');
      await handle.executeUpdate(withdrawUpdate, { args: [action(applicant, '不再开办')] });
      await waitFor(handle, (s) => s.pendingTasks.includes('incident:seal'));
      await ctx.agencies(DEFAULT_AGENCY);
      await handle.executeUpdate(stepActionUpdate, {
        args: [{ ...action(operator, '公安已同意撤销'), step: 'seal', action: 'retry' }],
      });
      return handle;
    },
  },
  {
    // Real-time SLA: the review outlasts the license's and the application's budgets (seconds here),
    // so warnings and breaches are raised and delivered to a webhook before the approval.
    name: 'sla-breach-alerted',
    expect: 'completed',
    async run(ctx) {
      const handle = await ctx.start('sla-breach-alerted', withSensitiveName, 'sla');
      await waitFor(
        handle,
        (s) => (s.sla?.alerts ?? []).some((a) => a.scope === 'application' && a.level === 'breached'),
        60_000,
      );
      await waitFor(handle, (s) =>
        (s.sla?.alerts ?? []).every((a) => a.deliveries.every((d) => d.state === 'delivered')),
      );
      await handle.executeUpdate(reviewUpdate, {
        args: [{ ...action(operator), decision: 'approve', reason: '超时后补审' }],
      });
      return handle;
    },
  },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'test/histories' },
      only: { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  const outDir = path.resolve(values.out!);
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  for (const p of PATHS) {
    if (p.frozen && only?.has(p.name)) throw new Error(`${p.name} is kept as older code recorded it: ${p.frozen}`);
  }
  const recipes = PATHS.filter((p) => !p.frozen && (!only || only.has(p.name)));
  // The incident paths make activities fail on purpose: the SDK's warnings about them are expected.
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
  });
  // No payload codec (see above); the production failure converter.
  const converter = { failureConverterPath: FAILURE_CONVERTER_PATH };

  // A history the current code no longer replays stands for running applications this change would break:
  // overwriting it would hide that from test/replay.test.ts.
  const existing = recipes
    .map((r) => ({ workflowId: r.name, file: path.join(outDir, `${r.name}.json`) }))
    .filter(({ file }) => existsSync(file));
  const broken: string[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowsPath: require.resolve('../workflows'), dataConverter: converter, sinks: replaySinks() },
    existing.map(({ workflowId, file }) => ({ workflowId, history: readHistoryFile(file) })),
  )) {
    if (result.error) broken.push(`${result.workflowId}: ${result.error.message}`);
  }
  if (broken.length > 0) {
    process.stderr.write(
      `${broken.join('\n')}\n` +
        'The current workflow code does not replay these recorded histories. Guard the change with patched() so they ' +
        "replay, or freeze them (the recipe's `frozen`, or move the file to a folder kept from an earlier release); " +
        `${values.force ? '--force: overwriting them anyway' : 'nothing was overwritten (--force overwrites them anyway)'}.\n`,
    );
    if (!values.force) process.exit(1);
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'kaiban-record-'));
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'fatal', name: 'record-histories' });
  const secret = randomBytes(16).toString('hex');
  const temporal = await startTemporalProcess({ dbFilename: path.join(dir, 'temporal.sqlite') });
  const simulator = await startSimulator({
    port: 0,
    seed: 'record-histories',
    callbackSecrets: Object.fromEntries(AGENCY_IDS.map((a) => [a, secret])) as Record<AgencyId, string>,
    agencies: Object.fromEntries(AGENCY_IDS.map((a) => [a, DEFAULT_AGENCY])),
    logger: createLogger({ level: 'silent' }),
  });
  const taskQueue = 'kaiban-record-histories';
  const baseEnv: Record<string, string> = {
    KAIBAN_DATA_DIR: dir,
    PORT: '0',
    TEMPORAL_TASK_QUEUE: taskQueue,
    TEMPORAL_SEARCH_ATTRIBUTES: 'true',
    AGENCY_BASE_URL: simulator.url,
    AGENCY_CALLBACK_SECRET: secret,
    AGENCY_POLL_INITIAL_SECONDS: '1',
    AGENCY_POLL_MAX_SECONDS: '2',
    // Incidents after two attempts, so the incident paths are short.
    AGENCY_MAX_ATTEMPTS: '2',
    AUTH_SECRET: randomBytes(32).toString('base64url'),
    KAIBAN_CODEC_KEYS: newCodecKeySpec('recorder'),
  };
  const config = loadConfig({ ...process.env, ...baseEnv });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, dataConverter: converter });
  const api = await startApi({ config, client, logger, port: 0 });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const deps = activityDepsFromConfig(config, logger);
  let failAcceptance = false;
  const now = () => {
    if (failAcceptance) {
      failAcceptance = false;
      throw new Error('the clock is not ready yet (recording a retried acceptance)');
    }
    return new Date();
  };
  const worker = await createKaibanWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    activityDeps: { ...deps, callbackBaseUrl: api.url, now },
    dataConverter: converter,
  });

  /** A worker of its own on `queue`, configured as the default one with `env` over it. */
  const queueWorker = (queue: string, env: Record<string, string>) =>
    createKaibanWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue: queue,
      activityDeps: {
        ...activityDepsFromConfig(
          loadConfig({ ...process.env, ...baseEnv, TEMPORAL_TASK_QUEUE: queue, ...env }),
          logger,
        ),
        callbackBaseUrl: api.url,
      },
      dataConverter: converter,
    });

  // The SLA path's worker: office hours around the clock, today a working day, budgets of seconds.
  const webhookSecret = randomBytes(16).toString('hex');
  const receiver = await startWebhookReceiver(webhookSecret);
  const slaQueue = `${taskQueue}-sla`;
  const slaWorker = await queueWorker(
    slaQueue,
    realtimeSlaEnv({ budgetsSeconds: { license: 2, application: 4 }, webhookUrl: receiver.url, webhookSecret }),
  );

  // The impatient worker: a filing undecided for 6 s is an incident (a silent agency), and so is one failed poll.
  const impatientQueue = `${taskQueue}-impatient`;
  const impatientWorker = await queueWorker(impatientQueue, {
    AGENCY_SILENT_INCIDENT_HOURS: String(6 / 3600),
    AGENCY_POLL_FAILURES_BEFORE_INCIDENT: '1',
  });
  // The notifying worker: applicants are told through the simulator's message platform.
  const notifyingQueue = `${taskQueue}-notifying`;
  const notifyingWorker = await queueWorker(notifyingQueue, { APPLICANT_NOTIFY_URL: `${simulator.url}/notifications` });
  const queues = { default: taskQueue, sla: slaQueue, impatient: impatientQueue, notifying: notifyingQueue };

  const ctx: Context = {
    client,
    taskQueue,
    simulator,
    start(name, edit, which = 'default') {
      // A stable id per path, shaped like the API's ids.
      const applicationId = `kb-${createHash('sha256').update(`history:${name}`).digest('hex').slice(0, 32)}`;
      return startApplication(client, { taskQueue: queues[which], edit, applicationId });
    },
    failNextAcceptance() {
      failAcceptance = true;
    },
    platformAvailable: (available) => patchSimulator(simulator, { messagePlatform: { available } }),
    agencies: (settings, which = AGENCY_IDS) =>
      patchSimulator(simulator, { agencies: Object.fromEntries(which.map((a) => [a, settings])) }),
  };

  let failed = false;
  try {
    const recordAll = async () => {
      mkdirSync(outDir, { recursive: true });
      for (const recipe of recipes) {
        const handle = await recipe.run(ctx);
        const status = (await handle.result()) as ApplicationStatus;
        if (status.status !== recipe.expect) {
          failed = true;
          process.stderr.write(`${recipe.name}: ended ${status.status}, expected ${recipe.expect}; not written\n`);
          continue;
        }
        const history = await handle.fetchHistory();
        const file = path.join(outDir, `${recipe.name}.json`);
        writeFileSync(file, historyToJson(history));
        process.stdout.write(
          `${recipe.name.padEnd(22)} ${status.status.padEnd(10)} ${String(history.events?.length ?? 0).padStart(4)} events → ${path.relative(process.cwd(), file)}\n`,
        );
      }
    };
    await worker.runUntil(slaWorker.runUntil(impatientWorker.runUntil(notifyingWorker.runUntil(recordAll))));
    // Every history just written must replay against the code that wrote it.
    const written = recipes.map((r) => ({ workflowId: r.name, file: path.join(outDir, `${r.name}.json`) }));
    const histories = written.map(({ workflowId, file }) => ({ workflowId, history: readHistoryFile(file) }));
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: require.resolve('../workflows'), dataConverter: converter, sinks: replaySinks() },
      histories,
    )) {
      if (result.error) {
        failed = true;
        process.stderr.write(`${result.workflowId}: does not replay: ${result.error.message}\n`);
      }
    }
  } finally {
    await receiver.close();
    await api.close();
    await connection.close();
    await nativeConnection.close();
    await simulator.close();
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
