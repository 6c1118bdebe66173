import type { Db, DependencyPolicy, Logger, RedisClient } from '@koban/platform';
import { registerAccountRoutes } from './accounts/account-routes.js';
import { createBalanceCache } from './accounts/balance-cache.js';
import { registerCreditRoutes } from './credits/credit-routes.js';
import type { LedgerClient, PaymentClient } from './downstream-clients.js';
import { buildHttpApp, type HttpApp } from './http/app.js';
import { createAccessControl } from './http/authentication.js';
import { registerPartyRoutes } from './parties/party-routes.js';
import { createPartyService, type PartyService } from './parties/party-service.js';
import { createPartyStore } from './parties/party-store.js';
import { createTokenCache } from './parties/token-cache.js';
import { registerPaymentRoutes } from './payments/payment-routes.js';

export interface GatewayAppDeps {
  logger: Logger;
  /** The `koban_gateway` schema, migrated. */
  db: Db;
  redis: RedisClient;
  /** The gateway→redis policy, shared by the token and balance caches. */
  redisPolicy: DependencyPolicy;
  /** Clients whose calls run through the gateway→payment and gateway→ledger policies. */
  payment: PaymentClient;
  ledger: LedgerClient;
  settings: {
    adminToken: string;
    requestTimeoutMs: number;
    maxInFlightRequests: number;
    tokenCacheTtlSeconds: number;
    balanceCacheTtlSeconds: number;
  };
  readinessChecks: Record<string, () => Promise<boolean>>;
}

/**
 * The gateway's features wired together: the party use cases (for the HTTP routes here and the
 * PartyService gRPC server main.ts starts) and the HTTP API of API.md, not yet listening.
 */
export function buildGatewayApp(deps: GatewayAppDeps): { app: HttpApp; parties: PartyService } {
  const { logger, redis, redisPolicy, payment, ledger, settings } = deps;
  const parties = createPartyService({
    store: createPartyStore(deps.db),
    ledger,
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
  });
  const access = createAccessControl({
    adminToken: settings.adminToken,
    authenticate: (credential) => parties.authenticate(credential),
  });
  registerPartyRoutes(app, { parties });
  registerAccountRoutes(app, { access, ledger, balanceCache });
  registerPaymentRoutes(app, { access, payment });
  registerCreditRoutes(app, { access, parties, ledger });
  return { app, parties };
}
