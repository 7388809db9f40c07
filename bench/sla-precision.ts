/**
 * SLA timer precision: with real time and a short budget, the delay between an alert's due instant
 * and its arrival at a webhook receiver, against a bare Temporal timer's delay on the same server.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BenchEnvironment } from './environment';
import type { Percentiles } from './stats';

export type SlaResult =
  | { available: true; samples: number; delay: Percentiles; timerDelay: Percentiles }
  | { available: false; reason: string };

export async function measureSlaPrecision(
  _env: BenchEnvironment,
  options: { samples: number; log: (line: string) => void },
): Promise<SlaResult> {
  if (!existsSync(path.resolve(__dirname, '../activities/sla.ts'))) {
    options.log('sla: not available yet (no SLA alerts in this build)');
    return { available: false, reason: 'SLA alerts not in this build yet' };
  }
  return { available: false, reason: 'SLA alerts exist but this benchmark does not drive them yet' };
}
