// A thin client of the public API (API.md) for end-to-end tests: real HTTP to the gateway.
import { randomUUID } from 'node:crypto';

export const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';
/** The documented dev default of ADMIN_TOKEN (services/gateway/src/config.ts). */
export const adminToken = process.env.ADMIN_TOKEN ?? 'koban-dev-admin-token';

export interface ApiResponse<Body = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: Body;
}

export interface RequestOptions {
  token?: string | undefined;
  body?: unknown;
  /** Sent as is instead of JSON-encoding `body` (malformed JSON, oversized bodies). */
  rawBody?: string;
  idempotencyKey?: string | undefined;
  /** The client IP to claim via X-Forwarded-For (loopback is a trusted proxy locally). */
  clientIp?: string | undefined;
}

export async function api<Body = Record<string, unknown>>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<Body>> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  if (options.clientIp !== undefined) headers['x-forwarded-for'] = options.clientIp;
  let payload: string | undefined;
  if (options.rawBody !== undefined) payload = options.rawBody;
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers,
    body: payload ?? null,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text.length > 0 ? JSON.parse(text) : {}) as Body,
  };
}

export function newKey(): string {
  return randomUUID();
}

export interface TestUser {
  userId: string;
  token: string;
  walletAccountId: string;
}

export interface TestMerchant {
  merchantId: string;
  apiKey: string;
}

export async function createUser(displayName = `user-${randomUUID().slice(0, 8)}`): Promise<TestUser> {
  const response = await api<TestUser>('POST', '/v1/users', { body: { displayName } });
  if (response.status !== 201)
    throw new Error(`create user: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function createMerchant(name = `shop-${randomUUID().slice(0, 8)}`): Promise<TestMerchant> {
  const response = await api<TestMerchant>('POST', '/v1/merchants', { body: { name, mcc: '5812' } });
  if (response.status !== 201)
    throw new Error(`create merchant: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Funds a wallet from the system funding account (admin route, until top-ups exist). */
export async function creditWallet(userId: string, amount: number): Promise<void> {
  const response = await api('POST', '/v1/admin/credits', {
    token: adminToken,
    idempotencyKey: newKey(),
    body: { userId, amount, currency: 'JPY' },
  });
  if (response.status !== 201) throw new Error(`credit: ${response.status} ${JSON.stringify(response.body)}`);
}

export async function userBalance(
  user: TestUser,
): Promise<{ available: number; points: number; stale: boolean }> {
  const response = await api<{ available: number; points: number; stale: boolean }>(
    'GET',
    `/v1/users/${user.userId}/balance`,
    { token: user.token },
  );
  if (response.status !== 200)
    throw new Error(`balance: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function merchantBalance(merchant: TestMerchant): Promise<number> {
  const response = await api<{ available: number }>('GET', `/v1/merchants/${merchant.merchantId}/balance`, {
    token: merchant.apiKey,
  });
  if (response.status !== 200)
    throw new Error(`balance: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.available;
}

export async function createQr(merchant: TestMerchant, amount?: number): Promise<string> {
  const response = await api<{ payload: string }>('POST', `/v1/merchants/${merchant.merchantId}/qr-codes`, {
    token: merchant.apiKey,
    body: amount === undefined ? {} : { amount },
  });
  if (response.status !== 201) throw new Error(`qr: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.payload;
}

/** Polls `condition` until it is true or the time is up; no fixed sleeps. */
export async function eventually(
  what: string,
  timeoutMs: number,
  condition: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A random address in the IPv6 documentation prefix (RFC 3849): only a header value, never a
 * destination; each test acts as its own client for the per-IP throttle.
 */
export function randomClientIp(): string {
  return `2001:db8::${randomUUID().slice(0, 4)}:${randomUUID().slice(0, 4)}`;
}

/** Runs `fn` over `items` with at most `limit` in flight: set-up traffic, not the load under test. */
export async function mapLimited<Item, Result>(
  items: readonly Item[],
  limit: number,
  fn: (item: Item) => Promise<Result>,
): Promise<Result[]> {
  const results: Result[] = new Array<Result>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export interface CampaignTerms {
  budgetPoints?: number;
  cashbackBps?: number;
  maxPointsPerPayment?: number;
}

/**
 * A campaign live now for one hour, limited to `merchant` (a fresh merchant per test, so no
 * budget is shared): 10 % cashback capped at 100 points, 100,000 points of budget by default.
 */
export async function createCampaign(merchant: TestMerchant, terms: CampaignTerms = {}): Promise<string> {
  const response = await api<{ campaignId: string }>('POST', '/v1/campaigns', {
    token: adminToken,
    body: {
      name: `e2e-${randomUUID().slice(0, 8)}`,
      cashbackBps: terms.cashbackBps ?? 1_000,
      maxPointsPerPayment: terms.maxPointsPerPayment ?? 100,
      budgetPoints: terms.budgetPoints ?? 100_000,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      merchantIds: [merchant.merchantId],
    },
  });
  if (response.status !== 201)
    throw new Error(`create campaign: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.campaignId;
}
