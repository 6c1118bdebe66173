import type { Db, DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import { registerAccountRoutes } from './accounts/account-routes.js';
import { registerAdminRoutes, type AdminRoutesDeps } from './admin/admin-routes.js';
import { createBalanceCache } from './accounts/balance-cache.js';
import { registerCampaignRoutes } from './campaigns/campaign-routes.js';
import { registerCreditRoutes } from './credits/credit-routes.js';
import type {
  BankIntegrationClient,
  CampaignClient,
  LedgerClient,
  PaymentClient,
} from './downstream-clients.js';
import { registerFundingRoutes } from './funding/funding-routes.js';
import { buildHttpApp, type HttpApp } from './http/app.js';
import { createAccessControl } from './http/authentication.js';
import { registerPartyRoutes } from './parties/party-routes.js';
import { createPartyService, type PartyService } from './parties/party-service.js';
import { createPartyStore } from './parties/party-store.js';
import { createTokenCache } from './parties/token-cache.js';
import { registerPaymentRoutes } from './payments/payment-routes.js';
import { createLocalRateLimiter, type RateLimitSettings } from './rate-limits/rate-limit.js';
import { createRateLimitService } from './rate-limits/rate-limit-service.js';
import { createRateLimitStore } from './rate-limits/rate-limit-store.js';

export interface GatewayAppDeps {
  logger: Logger;
  /** The `koban_gateway` schema, migrated. */
  db: Db;
  redis: RedisClient;
  /** The gateway→redis policy, shared by the token and balance caches and the rate limits. */
  redisPolicy: DependencyPolicy;
  /** Clients, each with its calls running through the one policy of that downstream. */
  payment: PaymentClient;
  /** Balance reads (300 ms, fallback: the cached balance). */
  ledger: LedgerClient;
  /** Account opening, credits and statements: a separate policy, so they cannot trip the balance breaker. */
  ledgerAccounts: LedgerClient;
  bankIntegration: BankIntegrationClient;
  campaigns: CampaignClient;
  settings: {
    adminToken: string;
    requestTimeoutMs: number;
    maxInFlightRequests: number;
    tokenCacheTtlSeconds: number;
    balanceCacheTtlSeconds: number;
    /** Per-token limits (API.md: 200/s sustained, bursts of 400). */
    rateLimit: RateLimitSettings;
    /** Proxies whose `X-Forwarded-For` is believed; none: the socket's address is the client's. */
    trustedProxies: readonly string[];
  };
  readinessChecks: Record<string, () => Promise<boolean>>;
  /** Fault injection and breaker inspection; only given when FAULTS_ENABLED (else they are 404s). */
  admin?: Omit<AdminRoutesDeps, 'access'> | undefined;
}

/**
 * The gateway's features wired together: the party use cases (for the HTTP routes here and the
 * PartyService gRPC server main.ts starts) and the HTTP API of API.md, not yet listening.
 */
export function buildGatewayApp(deps: GatewayAppDeps): { app: HttpApp; parties: PartyService } {
  const {
    logger,
    redis,
    redisPolicy,
    payment,
    ledger,
    ledgerAccounts,
    bankIntegration,
    campaigns,
    settings,
  } = deps;
  const parties = createPartyService({
    store: createPartyStore(deps.db),
    ledger: ledgerAccounts,
    tokenCache: createTokenCache({
      redis,
      policy: redisPolicy,
      ttlSeconds: settings.tokenCacheTtlSeconds,
      logger,
    }),
  });
  const balanceCache = createBalanceCache({
    redis,
    policy: redisPolicy,
    ttlSeconds: settings.balanceCacheTtlSeconds,
    logger,
  });

  const app = buildHttpApp({
    logger,
    requestTimeoutMs: settings.requestTimeoutMs,
    maxInFlightRequests: settings.maxInFlightRequests,
    readinessChecks: deps.readinessChecks,
    trustedProxies: settings.trustedProxies,
  });
  const access = createAccessControl({
    adminToken: settings.adminToken,
    authenticate: (credential) => parties.authenticate(credential),
    rateLimiter: createRateLimitService({
      store: createRateLimitStore(redis),
      policy: redisPolicy,
      local: createLocalRateLimiter(settings.rateLimit),
      settings: settings.rateLimit,
      logger,
    }),
  });
  registerPartyRoutes(app, { parties });
  registerAccountRoutes(app, { access, ledger, ledgerAccounts, balanceCache });
  registerPaymentRoutes(app, { access, payment });
  registerFundingRoutes(app, { access, bankIntegration, payment });
  registerCampaignRoutes(app, { access, campaigns });
  registerCreditRoutes(app, { access, parties, ledger: ledgerAccounts });
  if (deps.admin) registerAdminRoutes(app, { access, ...deps.admin });
  return { app, parties };
}
