// The local platform as `pnpm run up` leaves it: every service healthy, the gateway's health
// endpoints and error conventions, and the supervisor restarting a killed service.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHealthProbe } from '@koban/platform';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
const grpcServices = {
  payment: 50051,
  ledger: 50052,
  'bank-integration': 50053,
  fraud: 50054,
  'campaign-promo': 50055,
} as const;

function pm2Pid(service: string): number {
  const out = execFileSync(path.join(root, 'node_modules/.bin/pm2'), ['pid', `koban-${service}`], {
    env: { ...process.env, PM2_HOME: path.join(root, '.run/pm2') },
    encoding: 'utf8',
  });
  return Number(out.trim().split('\n').pop());
}

async function pollUntil(
  what: string,
  timeoutMs: number,
  condition: () => Promise<boolean>,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe('the running platform', () => {
  it('serves grpc.health.v1 SERVING on every gRPC service', async () => {
    for (const [name, port] of Object.entries(grpcServices)) {
      const probe = createHealthProbe(`127.0.0.1:${port}`);
      try {
        assert.equal(await probe.check(), true, `${name} is not SERVING`);
      } finally {
        probe.close();
      }
    }
  });

  it('answers /healthz and /readyz with request and trace ids', async () => {
    const health = await fetch(`${gatewayUrl}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${gatewayUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { payment: true, ledger: true } });
    assert.match(ready.headers.get('x-trace-id') ?? '', /^[0-9a-f]{32}$/);
    assert.notEqual(ready.headers.get('x-trace-id'), '0'.repeat(32));
    assert.ok((ready.headers.get('x-request-id') ?? '').length > 0);
  });

  it('answers an unknown route with 404 and the error body of API.md', async () => {
    const response = await fetch(`${gatewayUrl}/v1/no-such-route`);
    assert.equal(response.status, 404);
    const body = (await response.json()) as { error: Record<string, unknown> };
    assert.equal(body.error.code, 'not_found');
    assert.equal(body.error.requestId, response.headers.get('x-request-id'));
    assert.equal(body.error.traceId, response.headers.get('x-trace-id'));
  });

  it('restarts a service killed with SIGKILL within seconds', async () => {
    const before = pm2Pid('fraud');
    assert.ok(before > 0, 'fraud is not running under the supervisor');
    process.kill(before, 'SIGKILL');
    const probe = createHealthProbe(`127.0.0.1:${grpcServices.fraud}`, 300);
    try {
      const elapsed = await pollUntil('fraud restart', 15_000, async () => {
        const now = pm2Pid('fraud');
        return now > 0 && now !== before && (await probe.check());
      });
      console.log(`fraud restarted and SERVING ${elapsed} ms after SIGKILL`);
    } finally {
      probe.close();
    }
  });
});
