// What the resilience suites share: faults and breakers through the admin API (API.md
// "Operations"), paying a merchant, timing calls from the client, and the local infrastructure
// (Redis, Kafka) stopped and started the way an outage would.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { adminToken, api, newKey, type TestMerchant, type TestUser } from './api-client.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

export interface Payment {
  paymentId: string;
  status: string;
  amount: number;
  cashback: { status: string; points: number };
}

export interface BreakerView {
  state: 'closed' | 'open' | 'half-open';
  trips: number;
  rejections: number;
  lastTransitionAt: string | null;
}

export async function setFault(service: string, fault: Record<string, unknown>): Promise<void> {
  const response = await api('PUT', `/v1/admin/faults/${service}`, { token: adminToken, body: fault });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  // API.md: a fault takes effect on every instance within 1 s of the answer to PUT.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}

export async function clearFault(service: string): Promise<void> {
  const response = await api('DELETE', `/v1/admin/faults/${service}`, { token: adminToken });
  assert.equal(response.status, 204, JSON.stringify(response.body));
}

export async function breaker(name: string): Promise<BreakerView | undefined> {
  const response = await api<Record<string, BreakerView>>('GET', '/v1/admin/breakers', { token: adminToken });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body[name];
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/** `n=… min=… p50=… max=… ms` of client-measured latencies, for the test's printed record. */
export function latencySummary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `n=${sorted.length} min=${at(0).toFixed(1)} p50=${at(0.5).toFixed(1)} max=${at(1).toFixed(1)} ms`;
}

/** `POST /v1/payments` with a fresh key unless one is given (a retry reuses its key). */
export function pay(user: TestUser, body: Record<string, unknown>, idempotencyKey = newKey()) {
  return api<Payment>('POST', '/v1/payments', {
    token: user.token,
    idempotencyKey,
    body: { userId: user.userId, ...body },
  });
}

export function payMerchant(
  user: TestUser,
  merchant: TestMerchant,
  amount: number,
  idempotencyKey = newKey(),
) {
  return pay(user, { merchantId: merchant.merchantId, amount, currency: 'JPY' }, idempotencyKey);
}

/** Runs `bash deploy/local/infra.sh <command>` (the script `pnpm run up` uses for the stores). */
export async function localInfra(command: 'ensure' | 'stop-kafka'): Promise<void> {
  await run('bash', [path.join(root, 'deploy/local/infra.sh'), command], { cwd: root, timeout: 180_000 });
}

/** Stops the local Redis as an outage would: no save, every connection dropped. */
export async function stopRedis(): Promise<void> {
  const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  await run('redis-cli', [
    '-h',
    redisUrl.hostname,
    '-p',
    redisUrl.port || '6379',
    'shutdown',
    'nosave',
  ]).catch(
    // redis-cli exits non-zero when the server closes the connection on shutdown.
    () => undefined,
  );
}

/** Stops the local MariaDB (TiDB's stand-in) as an outage would: every connection dropped. */
export async function stopDatabase(): Promise<void> {
  const admin = (
    await run('bash', ['-c', 'command -v mariadb-admin || command -v mysqladmin'])
  ).stdout.trim();
  await run(admin, [
    '--no-defaults',
    '-uroot',
    `-h${process.env.MYSQL_HOST ?? '127.0.0.1'}`,
    `-P${process.env.MYSQL_PORT ?? '3306'}`,
    'shutdown',
  ]);
}
