export { listBreakers, resetBreakerRegistry } from './breaker-registry.js';
export type { BreakerSnapshot, BreakerState } from './breaker-registry.js';
export { ConsecutiveOrRateBreaker, FailureRateBreaker } from './breaker-rule.js';
export type { BreakerRuleSettings, FailureRateSettings, OpenedBy } from './breaker-rule.js';
export {
  createDependencyPolicy,
  defaultBreakerSettings,
  defaultIsFailure,
  defaultRetrySettings,
  failureKind,
  isDomainError,
} from './dependency-policy.js';
export type {
  BreakerSettings,
  BulkheadSettings,
  CallContext,
  DependencyPolicy,
  DependencyPolicyDeps,
  DependencyPolicyOptions,
  ExecuteOptions,
  FailureKind,
  RetrySettings,
} from './dependency-policy.js';
export { dependencyPresets, presetOptions } from './dependency-presets.js';
export { describeBreaker, renderResilienceTable } from './resilience-table.js';
export type { DependencyOverrides, DependencyPreset, FieldOverrides } from './dependency-presets.js';
