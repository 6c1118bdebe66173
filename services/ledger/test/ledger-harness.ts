// The ledger as its component tests drive it: the real gRPC server on port 0, built from the
// service's own modules like main.ts builds it, against a fresh MariaDB schema (dropped after)
// and the local Redis, called through a real platform gRPC client.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import {
  DomainError,
  createDatabasePolicy,
  createDependencyPolicy,
  createGrpcClient,
  createGrpcServer,
  createLogger,
  createRedis,
  dependencyPresets,
  loadProtos,
  presetOptions,
  statusName,
  type Db,
  type GrpcClient,
  type Logger,
  type RedisClient,
} from '@koban/platform';
import { createTestDatabase } from '@koban/platform/testing';
import { createAccountService, type AccountService } from '../src/accounts/account-service.js';
import { createAccountStore } from '../src/accounts/account-store.js';
import { createBalanceCache } from '../src/balance/balance-cache.js';
import { findInvariantViolations, type InvariantViolation } from '../src/invariants/invariants.js';
import { readLedgerTotals } from '../src/invariants/invariants-store.js';
import { createLedgerHandlers, ledgerErrorStatus } from '../src/ledger-grpc.js';
import type { LedgerServiceDefinition } from '../src/ledger-proto.js';
import { createTransferService } from '../src/transfers/transfer-service.js';
import { createTransferStore } from '../src/transfers/transfer-store.js';

export const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

const migrationsDir = fileURLToPath(new URL('../migrations/', import.meta.url));

export type LedgerClient = GrpcClient<LedgerServiceDefinition>;
/** A Transfer request whose id and postings are set (what the tests' factories build). */
export type TransferRequest = Parameters<LedgerClient['transfer']>[0] & {
  transferId: string;
  postings: NonNullable<Parameters<LedgerClient['transfer']>[0]['postings']>;
};

export interface LogLine {
  level: string;
  msg: string;
  component?: string;
  [field: string]: unknown;
}

export interface LedgerUnderTest {
  client: LedgerClient;
  db: Db;
  redis: RedisClient;
  accounts: AccountService;
  /** Every log line the ledger wrote. */
  logs: LogLine[];
  /** Stops the server and clients, drops the schema. */
  close(): Promise<void>;
}

function capturingLogger(lines: LogLine[]): Logger {
  return createLogger({
    service: 'ledger',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
}

/** Starts a ledger on a fresh schema. `redisUrl` may point at nothing to test a Redis outage. */
export async function startLedger(options: { redisUrl?: string } = {}): Promise<LedgerUnderTest> {
  const logs: LogLine[] = [];
  const logger = capturingLogger(logs);
  // The policies main.ts builds (the runtime builds the database one).
  const dbPolicy = createDatabasePolicy('ledger', { logger });
  const database = await createTestDatabase({ migrationsDir, poolSize: 10, logger, policy: dbPolicy });
  const { db } = database;
  const redis = createRedis({ url: options.redisUrl ?? redisUrl, logger, connectTimeoutMs: 500 });
  await redis.connect().catch(() => undefined);

  const redisPolicy = createDependencyPolicy(presetOptions(dependencyPresets.redis, 'ledger'), { logger });
  const balanceCache = createBalanceCache({ redis, policy: redisPolicy, logger, ttlSeconds: 300 });
  const accountStore = createAccountStore(db);
  const accounts = createAccountService({ store: accountStore, balanceCache, logger });
  const transfers = createTransferService({
    store: createTransferStore(db),
    accounts: accountStore,
    balanceCache,
    logger,
  });
  await accounts.openSystemAccounts();

  const server = createGrpcServer({
    serviceName: 'ledger',
    logger,
    domainErrorStatus: ledgerErrorStatus,
    host: '127.0.0.1',
  });
  server.addService(
    loadProtos().koban.ledger.v1.LedgerService.service,
    createLedgerHandlers({ accounts, transfers }),
  );
  const port = await server.listen(0);
  const client = createGrpcClient(loadProtos().koban.ledger.v1.LedgerService, `127.0.0.1:${port}`, {
    timeoutMs: 20_000,
  });

  return {
    client,
    db,
    redis,
    accounts,
    logs,
    async close() {
      client.close();
      await server.shutdown(1_000);
      redisPolicy.dispose();
      await redis.close();
      await database.drop();
      dbPolicy.dispose();
    },
  };
}

/** A fresh owner id, so that tests sharing a ledger never see each other's accounts. */
export function uniqueId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function openWallet(client: LedgerClient, ownerId = uniqueId('usr')): Promise<string> {
  const { account } = await client.openAccount({
    ownerType: 'OWNER_TYPE_USER',
    ownerId,
    kind: 'ACCOUNT_KIND_WALLET',
    currency: 'JPY',
  });
  if (!account) throw new Error('OpenAccount answered without an account');
  return account.accountId;
}

/** The bank settlement account the ledger opens at start. */
export async function bankSettlement(client: LedgerClient): Promise<string> {
  const { account } = await client.lookupAccount({
    ownerType: 'OWNER_TYPE_SYSTEM',
    ownerId: 'bank-settlement',
    kind: 'ACCOUNT_KIND_SETTLEMENT',
    currency: 'JPY',
  });
  if (!account) throw new Error('LookupAccount answered without an account');
  return account.accountId;
}

/** Tops a wallet up from the bank settlement account. */
export async function fund(client: LedgerClient, accountId: string, amount: number): Promise<void> {
  await client.transfer({
    transferId: uniqueId('topup'),
    kind: 'TRANSFER_KIND_TOPUP',
    referenceId: uniqueId('tpu'),
    postings: [
      { fromAccountId: await bankSettlement(client), toAccountId: accountId, amount, currency: 'JPY' },
    ],
  });
}

export async function availableOf(client: LedgerClient, accountId: string): Promise<string | undefined> {
  return (await client.getBalance({ accountId })).balance?.available;
}

/** The DomainError a call rejected with (fails the test when it resolved or failed otherwise). */
export async function domainErrorOf(call: Promise<unknown>): Promise<DomainError & { statusName: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof DomainError) {
      return Object.assign(error, { statusName: statusName(error.status ?? -1) });
    }
    throw error;
  }
  throw new Error('expected the call to fail with a domain error');
}

/** Every violated invariant of the ledger's whole schema. */
export async function invariantViolations(db: Db): Promise<InvariantViolation[]> {
  return findInvariantViolations(await readLedgerTotals(db));
}

/** Polls `check` until it stops throwing, or rethrows its last error after `timeoutMs`. */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await delay(20);
    }
  }
}
