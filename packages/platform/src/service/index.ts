export { startServiceRuntime } from './service-runtime.js';
export type { RuntimeConfig, ServiceRuntime, ServiceRuntimeOptions } from './service-runtime.js';
export { createHealthProbe } from './health-probe.js';
export type { HealthProbe } from './health-probe.js';
export { migrateEnv, runMigrateCommand } from './migrate-command.js';
export type { MigrateCommandOptions } from './migrate-command.js';
