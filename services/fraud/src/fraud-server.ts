// The fraud service's gRPC server with its features wired in: the same wiring for main.ts and
// for the component tests, which serve it on port 0 against real stores.
import {
  createGrpcServer,
  loadProtos,
  type BreakerReport,
  type Db,
  type GrpcServer,
  type Logger,
  type RedisClient,
} from '@koban/platform';
import { createDecisionStore } from './scoring/decision-store.js';
import { createFraudHandlers, fraudErrorStatus } from './scoring/fraud-grpc.js';
import { VELOCITY_WINDOW_MS, type FraudLimits } from './scoring/fraud-rules.js';
import { createFraudService } from './scoring/fraud-service.js';
import { createVelocityWindow } from './scoring/velocity-window.js';

export interface FraudServerDeps {
  db: Db;
  redis: RedisClient;
  logger: Logger;
  limits: FraudLimits;
  listBreakers?: () => Readonly<Record<string, BreakerReport>>;
  /** Epoch ms; `Date.now` by default. */
  now?: () => number;
}

export function createFraudServer(deps: FraudServerDeps): GrpcServer {
  const service = createFraudService({
    store: createDecisionStore(deps.db),
    velocity: createVelocityWindow({ redis: deps.redis, logger: deps.logger, windowMs: VELOCITY_WINDOW_MS }),
    limits: deps.limits,
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const server = createGrpcServer({
    serviceName: 'fraud',
    logger: deps.logger,
    domainErrorStatus: fraudErrorStatus,
    listBreakers: deps.listBreakers,
  });
  server.addService(loadProtos().koban.fraud.v1.FraudService.service, createFraudHandlers(service));
  return server;
}
