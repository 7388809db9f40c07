/**
 * A deliberately incompatible version of businessStartup for test/replay.test.ts: one timer
 * before the real workflow, i.e. a new command where history has another. Replaying a recorded
 * history against it must fail — proof that the replay test would catch such a change.
 */
import { sleep } from '@temporalio/workflow';
import { businessStartup as current, type BusinessStartupInput } from '../../workflows/businessStartup';

export async function businessStartup(input: BusinessStartupInput): ReturnType<typeof current> {
  await sleep(1);
  return current(input);
}
