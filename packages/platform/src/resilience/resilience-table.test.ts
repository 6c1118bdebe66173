import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultBreakerSettings } from './dependency-policy.js';
import { dependencyPresets, type DependencyPreset } from './dependency-presets.js';
import { describeBreaker, renderResilienceTable } from './resilience-table.js';

describe('renderResilienceTable', () => {
  it('states the default breaker rule of ARCHITECTURE.md', () => {
    assert.equal(
      describeBreaker(defaultBreakerSettings),
      'opens after 5 consecutive failures, or when ≥ 50 % of ≥ 5 calls in 10 s failed; half-opens after 5 s; one successful trial call closes it',
    );
  });

  it('renders one row per hop with its timeout, retry, breaker, bulkhead and fallback', () => {
    const presets: Record<string, DependencyPreset> = {
      a: { hop: 'x → y', callee: 'y', timeoutMs: 300, retry: false, fallback: 'cached' },
      b: {
        hop: 'x → z',
        callee: 'z',
        timeoutMs: 2_500,
        retry: { maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 200 },
        bulkhead: { limit: 4, queue: 8 },
        breaker: { consecutiveFailures: 3 },
        fallback: '`503`',
      },
    };
    const lines = renderResilienceTable(presets).split('\n');
    assert.equal(lines.length, 6);
    assert.equal(lines[4], '| x → y | 300 ms | none | default | none | cached |');
    assert.equal(
      lines[5],
      '| x → z | 2.5 s | 2 attempts, jittered backoff 50 ms–200 ms (idempotent calls only) | opens after 3 consecutive failures, or when ≥ 50 % of ≥ 5 calls in 10 s failed; half-opens after 5 s; one successful trial call closes it | 4 in flight, 8 queued | `503` |',
    );
  });

  it('has a row for every preset the services use', () => {
    const table = renderResilienceTable(dependencyPresets);
    for (const preset of Object.values(dependencyPresets))
      assert.ok(table.includes(`| ${preset.hop} |`), preset.hop);
  });
});
