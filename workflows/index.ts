export { businessStartup } from './businessStartup';
