import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));

type Line = {
  msg: string;
  trace_id?: string;
  span_id?: string;
  expected?: { traceId: string; spanId: string };
};

test('every log line written inside a span carries its trace_id and span_id, and none outside', async () => {
  // Without OTLP or a metrics port: only the tracer provider and the instrumentations start.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && key !== 'METRICS_PORT'),
  );
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      path.resolve(here, '../src/telemetry/register.ts'),
      path.resolve(here, 'fixtures/log-in-span.ts'),
    ],
    { cwd: here, env, timeout: 60_000 },
  );
  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
  assert.deepEqual(
    lines.map((line) => line.msg),
    ['outside any span', 'inside the span', 'inside the span, after an await'],
  );
  const [outside, ...inside] = lines;
  assert.equal(outside?.trace_id, undefined);
  for (const line of inside) {
    assert.match(line.trace_id ?? '', /^[0-9a-f]{32}$/, line.msg);
    assert.equal(line.trace_id, line.expected?.traceId, line.msg);
    assert.equal(line.span_id, line.expected?.spanId, line.msg);
  }
});
