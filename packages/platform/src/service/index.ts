export { startServiceRuntime } from './service-runtime.js';
export type { RuntimeConfig, ServiceRuntime, ServiceRuntimeOptions } from './service-runtime.js';
export { createHealthProbe } from './health-probe.js';
export type { HealthProbe } from './health-probe.js';
