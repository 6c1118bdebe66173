export {
  DEFAULT_FAULT_KEY_PREFIX,
  createFaultStore,
  faultCodes,
  parseStoredFault,
  toConfiguredFault,
} from './fault-store.js';
export type {
  FaultCodeName,
  FaultRequest,
  FaultStore,
  FaultStoreOptions,
  StoredFault,
} from './fault-store.js';
export {
  DEFAULT_FAULT_REFRESH_MS,
  DEFAULT_FAULT_STALE_MS,
  createRedisFaultInjector,
  startFaultInjection,
} from './redis-fault-injector.js';
export type {
  FaultInjectionSettings,
  RedisFaultInjector,
  RedisFaultInjectorOptions,
} from './redis-fault-injector.js';
