import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Application } from '../../domain/application';
import type { BusinessStartupInput } from '../../workflows/businessStartup';

/** The integrators' sample application from shared/fixtures, fresh each call. */
export function sampleApplication(edit?: (app: Application) => void): Application {
  const app = JSON.parse(
    readFileSync(path.resolve(__dirname, '../../../shared/fixtures/application.sample.json'), 'utf8'),
  ) as Application;
  edit?.(app);
  return app;
}

export const SAMPLE_PATH = path.resolve(__dirname, '../../../shared/fixtures/application.sample.json');

const NAME_CHARS = '青山绿水蓝天白云金木火土东南西北春夏秋冬梅兰竹菊';
let nameCounter = 0;

/**
 * A company name no other test has reserved (the market regulator refuses a taken name), made of
 * Chinese characters like a real one: 南昌<unique word>科技有限公司.
 */
export function uniqueCompanyName(): string {
  let n = Date.now() * 1000 + process.pid * 10 + nameCounter++;
  let word = '';
  for (let i = 0; i < 8; i++) {
    word += NAME_CHARS[n % NAME_CHARS.length];
    n = Math.floor(n / NAME_CHARS.length);
  }
  return `南昌${word}科技有限公司`;
}

/** The sample application under a company name of its own. */
export function freshApplication(edit?: (app: Application) => void): Application {
  return sampleApplication((app) => {
    app.company.name = uniqueCompanyName();
    edit?.(app);
  });
}

/**
 * Starts the businessStartup workflow directly (no API) with a fresh application, as the API would: an id shaped like
 * the API's, the application, the submission instant (now unless given).
 */
export function startApplication(
  client: Client,
  options: { taskQueue: string; edit?: (app: Application) => void; submittedAt?: number; applicationId?: string },
): Promise<WorkflowHandle> {
  const applicationId = options.applicationId ?? `kb-${randomUUID().replace(/-/g, '')}`;
  const input: BusinessStartupInput = {
    applicationId,
    application: freshApplication(options.edit),
    submittedAt: new Date(options.submittedAt ?? Date.now()).toISOString(),
  };
  return client.workflow.start('businessStartup', {
    taskQueue: options.taskQueue,
    workflowId: applicationId,
    args: [input],
  });
}
