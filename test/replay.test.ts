/**
 * Replay: every recorded history in test/histories/ (one per path of the workflow, recorded by
 * `npm run record-histories`) is replayed against the current workflow code. A change to
 * workflows/ that would break applications already running fails here — see README, "Upgrading
 * workflow code safely", for what to do then (patched(), or keep the old code on its own queue).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../security/codec';
import { replaySinks } from '../worker/worker';
import { patchMarkers, readHistoryFile } from './helpers/histories';
import { workflowBundle } from './helpers/temporal';

const HISTORIES = path.resolve(__dirname, 'histories');
/** The paths scripts/record-histories.ts records; each must have a history (a deleted one fails here). */
const EXPECTED_PATHS = [
  'completed',
  'callback-lost-polled',
  'withdrawn',
  'withdrawn-before-acceptance',
  'rejected-by-agency',
  'rejected-name',
  'review-approved',
  'review-rejected',
  'correction',
  'correction-moved-district',
  'correction-moved-district-name-reserved',
  'corrected-name-retried',
  'corrected-name-retried-license-waits',
  'corrected-name-license-skipped',
  'incident-retried',
  'refused-step-retried',
  'waiting-step-skipped',
  'archive-told-offline',
  'name-refused-corrected',
  'owed-name-refused-reviewed',
  'incident-skipped',
  'incident-skipped-filed',
  'incident-skipped-filed-agency-down',
  'incident-skipped-unanswered',
  'incident-aborted-turned-away',
  'corrected-name-aborted-turned-away',
  'skipped-then-aborted',
  'skipped-withdrawing-then-aborted',
  'poll-failed-callback-decided',
  'poll-incident-callback-decided',
  'name-offline-then-corrected',
  'agency-silent-callback-decided',
  'incident-aborted',
  'undo-incident-retried',
  'decision-for-another-step',
  'sla-breach-alerted',
];
/** Histories other tests record into folders of their own (test/sla-replay.test.ts); each must be there too. */
const EXPECTED_ELSEWHERE = ['sla/holiday-breach'];

/** Every *.json under test/histories/, including folders kept from earlier releases. */
function historyFiles(dir = HISTORIES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? historyFiles(path.join(dir, entry.name))
      : entry.name.endsWith('.json')
        ? [path.join(dir, entry.name)]
        : [],
  );
}

const files = historyFiles();
// Recorded without the payload codec (plain JSON payloads); failures through the production failure converter.
const dataConverter = { failureConverterPath: FAILURE_CONVERTER_PATH };

beforeAll(() => {
  // The replay worker's own log lines (bundling, the expected nondeterminism warning) are noise here.
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR'),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } },
    });
  } catch {
    // Already installed by another test in this process.
  }
});

describe('replay of recorded histories', () => {
  it('has a recorded history for every path of the workflow', () => {
    const names = files.filter((f) => path.dirname(f) === HISTORIES).map((f) => path.basename(f, '.json'));
    expect(names.sort()).toEqual([...EXPECTED_PATHS].sort());
    // Folders also keep histories from earlier releases: these must be among them, not all of them.
    const all = files.map((f) =>
      path
        .relative(HISTORIES, f)
        .replace(/\.json$/, '')
        .split(path.sep)
        .join('/'),
    );
    expect(all).toEqual(expect.arrayContaining(EXPECTED_ELSEWHERE));
  });

  it.each(files.map((f) => [path.relative(HISTORIES, f), f]))(
    'replays %s without a determinism violation',
    async (_name, file) => {
      await Worker.runReplayHistory(
        { workflowBundle: await workflowBundle(), dataConverter, sinks: replaySinks() },
        readHistoryFile(file),
        path.basename(file, '.json'),
      );
    },
  );

  /** The patch ids of a recorded history's markers. */
  const patchesIn = (name: string): string[] => patchMarkers(readHistoryFile(path.join(HISTORIES, `${name}.json`)));

  it('keeps a history of each patched branch, which holds its marker', () => {
    expect(patchesIn('withdrawn-before-acceptance')).toEqual(['no-filing-after-end']);
    expect(patchesIn('corrected-name-retried')).toEqual(['reserve-owed-name']);
    expect(patchesIn('corrected-name-retried-license-waits')).toEqual([
      'reserve-owed-name',
      'license-waits-for-owed-name',
    ]);
    // The license done offline while the corrected name was owed (the license itself never filed: no other patch).
    expect(patchesIn('corrected-name-license-skipped')).toEqual(['owed-name-done-with-license']);
    expect(patchesIn('correction-moved-district')).toEqual(['upsert-corrected-district']);
    expect(patchesIn('correction-moved-district-name-reserved')).toEqual([
      'upsert-corrected-district',
      'reserve-name-for-corrected-filing',
    ]);
    expect(patchesIn('incident-skipped-filed')).toEqual(['cancel-filing-on-skip']);
    expect(patchesIn('incident-skipped-filed-agency-down')).toEqual(['withdraw-skipped-filing-beside-chain']);
    expect(patchesIn('incident-skipped-unanswered')).toEqual(['cancel-unanswered-filing-on-skip']);
    expect(patchesIn('incident-aborted-turned-away')).toEqual(['no-undo-of-unreached-filing']);
    expect(patchesIn('skipped-then-aborted')).toEqual(['offline-undo-of-skipped-step']);
    expect(patchesIn('skipped-withdrawing-then-aborted').sort()).toEqual([
      'offline-undo-of-skipped-step',
      'poll-failure-waits-for-callback', // the police's polls failed before the seal's incident
      'undo-after-withdrawals',
      'withdraw-skipped-filing-beside-chain',
    ]);
    expect(patchesIn('poll-failed-callback-decided')).toEqual(['poll-failure-waits-for-callback']);
    expect(patchesIn('poll-incident-callback-decided')).toEqual(['incident-takes-callback-decision']);
    expect(patchesIn('name-offline-then-corrected')).toEqual(['offline-name-released-before-correction']);
    expect(patchesIn('agency-silent-callback-decided')).toEqual(['agency-silence-incident']);
    expect(patchesIn('corrected-name-aborted-turned-away').sort()).toEqual([
      'no-undo-of-unreached-corrected-name',
      'no-undo-of-unreached-filing',
    ]);
    expect(patchesIn('decision-for-another-step')).toEqual(['decisions-of-their-own-step']);
    expect(patchesIn('refused-step-retried')).toEqual(['refusal-is-incident']);
    expect(patchesIn('name-refused-corrected')).toEqual(['name-refusal-to-review']);
    expect(patchesIn('waiting-step-skipped').sort()).toEqual([
      'act-on-agency-wait',
      'withdraw-skipped-filing-beside-chain',
    ]);
    expect(patchesIn('archive-told-offline')).toEqual(['archive-told-offline']);
    expect(patchesIn('owed-name-refused-reviewed')).toEqual(
      expect.arrayContaining(['reserve-owed-name', 'owed-name-refusal-to-review']),
    );
    expect(patchesIn('rejected-name')).toEqual([]); // recorded before: the refused name rejected the application
    expect(patchesIn('rejected-by-agency')).toEqual([]); // recorded before: the refusal rejected the application
    expect(patchesIn('incident-skipped')).toEqual([]); // skipped before anything was filed: nothing to withdraw
    // The usual paths take no patched branch: no marker, no extra event.
    expect(patchesIn('completed')).toEqual([]);
    expect(patchesIn('correction')).toEqual([]);
    const activitiesOf = (name: string) =>
      (readHistoryFile(path.join(HISTORIES, `${name}.json`)).events ?? []).flatMap((e) => {
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
        return type ? [type] : [];
      });
    // Nothing was filed: the only activity is the acceptance.
    expect(activitiesOf('withdrawn-before-acceptance')).toEqual(['acceptApplication']);
    // The unanswered filing was withdrawn beside the chain: the dossier was archived before the cancellation, which
    // followed the filing made again (7 steps' filings, then the eighth) to learn its ticket.
    expect(activitiesOf('incident-skipped-unanswered').slice(-3)).toEqual([
      'fileAgencyRequest',
      'archiveDossier',
      'cancelAgencyRequest',
    ]);
    expect(activitiesOf('incident-skipped-unanswered').filter((a) => a === 'fileAgencyRequest')).toHaveLength(8);
    // A ticketed filing of a skipped step, the bureau down: withdrawn by its ticket (not filed again) beside the chain —
    // the archive completed while the cancellation waited for the bureau. The older history withdrew it before the
    // chain went on.
    const completionsOf = (name: string) => {
      const events = readHistoryFile(path.join(HISTORIES, `${name}.json`)).events ?? [];
      const typeOf = new Map(
        events.map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name]),
      );
      return events.flatMap((e) => {
        const scheduled = e.activityTaskCompletedEventAttributes?.scheduledEventId;
        return scheduled === undefined || scheduled === null ? [] : [typeOf.get(String(scheduled))];
      });
    };
    expect(completionsOf('incident-skipped-filed-agency-down').slice(-2)).toEqual([
      'archiveDossier',
      'cancelAgencyRequest',
    ]);
    expect(activitiesOf('incident-skipped-filed-agency-down').filter((a) => a === 'fileAgencyRequest')).toHaveLength(7);
    expect(completionsOf('incident-skipped-filed').slice(-2)).toEqual(['cancelAgencyRequest', 'archiveDossier']);
    // The corrected name's unanswered filing, filed again to learn its ticket and cancelled after the archive.
    expect(completionsOf('corrected-name-license-skipped').slice(-3)).toEqual([
      'archiveDossier',
      'fileAgencyRequest',
      'cancelAgencyRequest',
    ]);
    // The tax bureau turned every filing away: the compensation asks it nothing (the older history filed the tax step
    // again, to cancel it).
    const cancellations = (name: string) =>
      (readHistoryFile(path.join(HISTORIES, `${name}.json`)).events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'cancelAgencyRequest',
      ).length;
    expect(cancellations('incident-aborted-turned-away')).toBe(cancellations('incident-aborted') - 1);
  });

  it('would catch an incompatible change: a timer added before the first activity fails replay', async () => {
    const incompatible: WorkflowBundleWithSourceMap = await bundleWorkflowCode({
      workflowsPath: require.resolve('./helpers/incompatible-workflow'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: incompatible, dataConverter },
        readHistoryFile(path.join(HISTORIES, 'completed.json')),
        'completed',
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
