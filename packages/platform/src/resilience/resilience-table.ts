import { defaultBreakerSettings, type BreakerSettings } from './dependency-policy.js';
import type { DependencyPreset } from './dependency-presets.js';

const ms = (value: number): string => (value >= 1_000 ? `${value / 1_000} s` : `${value} ms`);

/** The breaker rule in words, e.g. "5 consecutive failures, or ≥ 50 % of ≥ 5 calls in 10 s; …". */
export function describeBreaker(settings: Readonly<BreakerSettings>): string {
  const percent = Math.round(settings.failureRateThreshold * 100);
  return (
    `opens after ${settings.consecutiveFailures} consecutive failures, or when ≥ ${percent} % of ` +
    `≥ ${settings.minimumCalls} calls in ${ms(settings.windowMs)} failed; half-opens after ` +
    `${ms(settings.halfOpenAfterMs)}; one successful trial call closes it`
  );
}

function describeRetry(preset: DependencyPreset): string {
  if (preset.retry === false || preset.retry === undefined) return 'none';
  const { maxAttempts, initialDelayMs, maxDelayMs } = preset.retry;
  return `${maxAttempts} attempts, jittered backoff ${ms(initialDelayMs)}–${ms(maxDelayMs)} (idempotent calls only)`;
}

function describePresetBreaker(preset: DependencyPreset): string {
  if (preset.breaker === undefined || Object.keys(preset.breaker).length === 0) return 'default';
  return describeBreaker({ ...defaultBreakerSettings, ...preset.breaker });
}

/**
 * The README's resilience table, rendered from the presets the services build their policies
 * from, so the documented numbers are the code's. Markdown, one row per hop, in preset order.
 */
export function renderResilienceTable(
  presets: Readonly<Record<string, DependencyPreset>>,
  breakerDefaults: Readonly<BreakerSettings> = defaultBreakerSettings,
): string {
  const rows = Object.values(presets).map((preset) =>
    [
      preset.hop,
      ms(preset.timeoutMs),
      describeRetry(preset),
      describePresetBreaker(preset),
      preset.bulkhead ? `${preset.bulkhead.limit} in flight, ${preset.bulkhead.queue} queued` : 'none',
      preset.fallback,
    ].join(' | '),
  );
  return [
    `Default breaker: ${describeBreaker(breakerDefaults)}. Timeouts count as failures; an open breaker fails at once.`,
    '',
    '| hop | timeout (per attempt) | retry | breaker | bulkhead | when it fails or the breaker is open |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}
