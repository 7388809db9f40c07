export { createSimulator, type Simulator, type SimulatorOptions } from './app';
export {
  AGENCY_IDS,
  AGENCY_PROCEDURES,
  DEFAULT_AGENCY_CONFIG,
  type AgencyConfig,
  type AgencyId,
  type Procedure,
  type SimulatorConfig,
  type SimulatorConfigInput,
} from './config';
export { startSimulator, type RunningSimulator, type StartSimulatorOptions } from './server';
export { signCallback } from './signature';
export type { AgencyRecord, RecordStatus, Reference } from './store';
