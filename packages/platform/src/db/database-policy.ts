import {
  createDependencyPolicy,
  type DependencyPolicy,
  type DependencyPolicyDeps,
} from '../resilience/dependency-policy.js';
import {
  dependencyPresets,
  presetOptions,
  type DependencyOverrides,
} from '../resilience/dependency-presets.js';
import { isDatabaseUnavailableError } from './sql-access.js';

/**
 * The `<caller>→tidb` policy of a service's own database, from `dependencyPresets.tidb`, for
 * `createDb`/`openDatabase` (`startServiceRuntime` builds one per service). Only unreachable-
 * database errors (and its timeout) count as failures: business errors such as a duplicate key,
 * and the deadlocks and write conflicts a transaction retries itself, pass through untouched and
 * never open the breaker. Overrides of the preset come from config or tests; `isFailure` cannot
 * be overridden.
 */
export function createDatabasePolicy(
  caller: string,
  deps: DependencyPolicyDeps,
  overrides: Omit<DependencyOverrides, 'isFailure'> = {},
): DependencyPolicy {
  return createDependencyPolicy(
    presetOptions(dependencyPresets.tidb, caller, { ...overrides, isFailure: isDatabaseUnavailableError }),
    deps,
  );
}
