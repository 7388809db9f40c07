/**
 * Workflow interceptors for test/sla-replay.test.ts: report, through a sink called during replay too, every alert
 * the workflow code raises, so a replay shows which deadlines the code computes from a recorded history.
 */
import {
  proxySinks,
  type Sinks,
  type WorkflowInterceptorsFactory,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import type { SlaAlert } from '../../domain/sla';

export interface SlaReplaySinks extends Sinks {
  slaReplay: { alertRaised(alert: SlaAlert): void };
}

const { slaReplay } = proxySinks<SlaReplaySinks>();

const observeAlerts: WorkflowOutboundCallsInterceptor = {
  scheduleActivity(input, next) {
    const [request] = input.args as [{ channel?: string; alert?: SlaAlert } | undefined];
    if (input.activityType === 'deliverAlert' && request?.channel === 'log' && request.alert)
      slaReplay.alertRaised(request.alert);
    return next(input);
  },
};

export const interceptors: WorkflowInterceptorsFactory = () => ({ outbound: [observeAlerts] });
