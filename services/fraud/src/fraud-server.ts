// The fraud service's gRPC server with its features wired in: the same wiring for main.ts and
// for the component tests, which serve it on port 0 against real stores.
import {
  createGrpcServer,
  loadProtos,
  type BreakerReport,
  type Db,
  type DependencyPolicy,
  type FaultInjector,
  type GrpcServer,
  type Logger,
  type RedisClient,
} from '@koban/platform';
import { createFraudHandlers, fraudErrorStatus } from './fraud-grpc.js';
import type { LockoutPolicy } from './lockout/lockout.js';
import { createLockoutCounters } from './lockout/lockout-counters.js';
import { createLockoutService, MAX_WINDOW_ENTRIES } from './lockout/lockout-service.js';
import { createLockoutStore } from './lockout/lockout-store.js';
import { createProfileStore } from './profile/profile-store.js';
import { createSpendWindow } from './profile/spend-window.js';
import { createDecisionStore } from './scoring/decision-store.js';
import { SPEND_WINDOW_MS, VELOCITY_WINDOW_MS, type FraudLimits } from './scoring/fraud-rules.js';
import { createFraudService } from './scoring/fraud-service.js';
import { createVelocityWindow } from './scoring/velocity-window.js';

export interface FraudServerDeps {
  db: Db;
  redis: RedisClient;
  /**
   * The fraud→redis policy (100 ms, breaker, no retry), built once in main.ts and shared with the
   * features consumer's spend window: the breaker must see every Redis command.
   */
  redisPolicy: DependencyPolicy;
  logger: Logger;
  limits: FraudLimits;
  policy: LockoutPolicy;
  listBreakers?: () => Readonly<Record<string, BreakerReport>>;
  /** Injected faults (FAULTS_ENABLED); none by default. */
  faultInjector?: FaultInjector | undefined;
  /** Epoch ms; `Date.now` by default. */
  now?: () => number;
  /** Prefix of every Redis key (default `fraud:`); tests use their own. */
  redisKeyPrefix?: string;
}

export function createFraudServer(deps: FraudServerDeps): GrpcServer {
  const { db, redis, redisPolicy, logger } = deps;
  const clock = deps.now ? { now: deps.now } : {};
  const keys = deps.redisKeyPrefix === undefined ? {} : { keyPrefix: deps.redisKeyPrefix };

  const lockout = createLockoutService({
    store: createLockoutStore(db),
    counters: createLockoutCounters({
      redis,
      policy: redisPolicy,
      logger,
      maxEntries: MAX_WINDOW_ENTRIES,
      ...keys,
    }),
    policy: deps.policy,
    logger,
    ...clock,
  });
  const scoring = createFraudService({
    store: createDecisionStore(db),
    velocity: createVelocityWindow({
      redis,
      policy: redisPolicy,
      logger,
      windowMs: VELOCITY_WINDOW_MS,
      ...keys,
    }),
    spend: createSpendWindow({ redis, policy: redisPolicy, logger, windowMs: SPEND_WINDOW_MS, ...keys }),
    profiles: createProfileStore(db),
    lockout,
    limits: deps.limits,
    logger,
    ...clock,
  });

  const server = createGrpcServer({
    serviceName: 'fraud',
    logger,
    domainErrorStatus: fraudErrorStatus,
    listBreakers: deps.listBreakers,
    faultInjector: deps.faultInjector,
  });
  server.addService(
    loadProtos().koban.fraud.v1.FraudService.service,
    createFraudHandlers({ scoring, lockout }),
  );
  return server;
}
