import { isIP } from 'node:net';
import { z } from 'zod';
import { addressEnv, commonEnv, envInt, grpcPortEnv, dependencyPresets } from '@koban/platform';

/** Dev default, clearly not a secret: production must set ADMIN_TOKEN (enforced below). */
export const DEV_ADMIN_TOKEN = 'koban-dev-admin-token';

const proxyRanges: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An IP address, a CIDR range, or one of proxy-addr's named ranges. */
function isProxyAddress(entry: string): boolean {
  if (proxyRanges.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

function trustedProxiesEnv() {
  return z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    )
    .refine((entries) => entries.every(isProxyAddress), {
      message: 'expected comma-separated IP addresses or CIDR ranges',
    });
}

/** Every variable the gateway reads; parsed once in main.ts. */
export const configSchema = z
  .object({
    ...commonEnv,
    HTTP_HOST: z.string().min(1).default('0.0.0.0'),
    HTTP_PORT: envInt().min(0).max(65535).default(8080),
    /** PartyService (users, merchants, credential lookups) for tooling and other services. */
    GRPC_PORT: grpcPortEnv(50050),
    MYSQL_DATABASE: z.string().min(1).default('koban_gateway'),
    PAYMENT_ADDR: addressEnv('127.0.0.1:50051'),
    LEDGER_ADDR: addressEnv('127.0.0.1:50052'),
    BANK_INTEGRATION_ADDR: addressEnv('127.0.0.1:50053'),
    FRAUD_ADDR: addressEnv('127.0.0.1:50054'),
    CAMPAIGN_ADDR: addressEnv('127.0.0.1:50055'),
    /** Per-attempt timeout of gateway→payment calls; ARCHITECTURE.md's matrix says 4.5 s. */
    PAYMENT_TIMEOUT_MS: envInt().min(50).max(60_000).default(dependencyPresets.gatewayToPayment.timeoutMs),
    /** Per-attempt timeout of gateway→ledger calls; ARCHITECTURE.md's matrix says 300 ms. */
    LEDGER_TIMEOUT_MS: envInt().min(50).max(60_000).default(dependencyPresets.gatewayToLedger.timeoutMs),
    /** Per-attempt timeout of gateway→bank-integration calls (bank accounts, card checks). */
    BANK_INTEGRATION_TIMEOUT_MS: envInt()
      .min(50)
      .max(60_000)
      .default(dependencyPresets.gatewayToBankIntegration.timeoutMs),
    /** Per-attempt timeout of gateway→campaign-promo calls (campaign admin). */
    CAMPAIGN_TIMEOUT_MS: envInt()
      .min(50)
      .max(60_000)
      .default(dependencyPresets.gatewayToCampaignPromo.timeoutMs),
    /** API.md: requests per token, 200/s sustained … */
    RATE_LIMIT_PER_SECOND: envInt().min(1).default(200),
    /** … in bursts of up to 400. */
    RATE_LIMIT_BURST: envInt().min(1).default(400),
    /**
     * Proxies whose `X-Forwarded-For` is believed, comma-separated IPs or CIDRs (or proxy-addr's
     * `loopback`, `linklocal`, `uniquelocal`). Empty (the default): the client IP is the socket's.
     */
    TRUSTED_PROXIES: trustedProxiesEnv(),
    ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').default(DEV_ADMIN_TOKEN),
    /** API.md: every request answers within its deadline, 5 s by default. */
    REQUEST_TIMEOUT_MS: envInt().min(100).max(60_000).default(5_000),
    /** API.md: beyond this many requests in flight the gateway answers 503 at once. */
    MAX_IN_FLIGHT_REQUESTS: envInt().min(1).default(2_000),
    /** How long a resolved bearer credential stays in the Redis token cache. */
    TOKEN_CACHE_TTL_SECONDS: envInt().min(1).max(3_600).default(60),
    /** How long the last known balance is kept as the fallback when the ledger is down. */
    BALANCE_CACHE_TTL_SECONDS: envInt()
      .min(1)
      .default(7 * 24 * 3_600),
  })
  .refine((config) => config.NODE_ENV !== 'production' || config.ADMIN_TOKEN !== DEV_ADMIN_TOKEN, {
    message: 'must be set to a secret in production (the dev default is not allowed)',
    path: ['ADMIN_TOKEN'],
  });

export type Config = z.infer<typeof configSchema>;
