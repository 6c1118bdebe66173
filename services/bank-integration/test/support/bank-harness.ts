import { randomUUID } from 'node:crypto';
import {
  createDependencyPolicy,
  createGrpcClient,
  createGrpcServer,
  createLogger,
  loadProtos,
  type GrpcClient,
  type Logger,
} from '@koban/platform';
import { createBankIntegrationApp, type BankAppConfig } from '../../src/bank-app.js';
import type { BankDirectory } from '../../src/banks/bank-adapter.js';
import { createSimulatedBanks } from '../../src/banks/bank-simulator.js';
import { DEV_CARD_FINGERPRINT_SECRET, DEV_CARD_VAULT_KEYS, DEV_ISSUER_SIM_SECRET } from '../../src/config.js';
import { bankErrorStatus } from '../../src/grpc-api.js';
import type { CardAuthorizationOutcome, IssuerAdapter } from '../../src/issuer/issuer-adapter.js';
import { createIssuerSimulator, type IssuerSimulatorSettings } from '../../src/issuer/issuer-simulator.js';
import type { BankIntegrationDefinition } from '../../src/rpc.js';
import type { SimulationSettings } from '../../src/simulation/simulated-counterparty.js';
import { poolSql, type Row } from '../../src/sql.js';
import { parseVaultKeys } from '../../src/vault/card-vault.js';
import { startFakeFraud, type FakeFraud } from './fake-fraud.js';
import { freshDatabase, type TestDatabase } from './test-database.js';

export type BankClient = GrpcClient<BankIntegrationDefinition>;

export const testConfig: BankAppConfig = {
  CARD_VAULT_KEYS: parseVaultKeys(DEV_CARD_VAULT_KEYS),
  CARD_VAULT_ACTIVE_KEY: undefined,
  CARD_FINGERPRINT_SECRET: DEV_CARD_FINGERPRINT_SECRET,
  ISSUER_SIM_SECRET: DEV_ISSUER_SIM_SECRET,
  ISSUER_SIM_LATENCY_MS: 0,
  ISSUER_SIM_FAILURE_RATE: 0,
  BANK_SIM_LATENCY_MS: 0,
  BANK_SIM_FAILURE_RATE: 0,
};

export interface HarnessOptions {
  config?: Partial<BankAppConfig>;
  /** A schema to run on (another harness's, to restart over the same data); a fresh one by default. */
  database?: TestDatabase;
  /** Per-call budgets, as main.ts takes them from config. */
  bankTimeoutMs?: number;
  issuerTimeoutMs?: number;
}

/** Calls the service made to its counterparties, counted at the adapter boundary. */
export interface CounterpartyCalls {
  verify: number;
  authorize: number;
  issuerRefund: number;
  debit: number;
  bankRefund: number;
}

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/**
 * The real bank-integration gRPC server, in process on a random port, against a fresh MariaDB
 * schema, with a fake fraud service (in-memory lockout) and the real simulators behind counting
 * wrappers whose latency and failure rate a test may change at any time.
 */
export interface Harness {
  client: BankClient;
  fraud: FakeFraud;
  database: TestDatabase;
  calls: CounterpartyCalls;
  /** The live settings of the simulated banks and issuer. */
  bankSim: SimulationSettings;
  issuerSim: SimulationSettings;
  /** Makes the next authorisations answer this instead of asking the simulator. */
  scriptAuthorize: CardAuthorizationOutcome | undefined;
  /** Moves the service's clock (the issuer judges expiry on it). */
  clock: { offsetMs: number };
  /** Every log line the service wrote, parsed (debug level and up). */
  logs: LogLine[];
  rows(sql: string, params?: ReadonlyArray<string | number>): Promise<Row[]>;
  /** Stops the server and clients; drops the schema unless asked to keep it. */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
}

function capturingLogger(lines: LogLine[]): Logger {
  return createLogger({
    service: 'bank-integration',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const logs: LogLine[] = [];
  const logger = capturingLogger(logs);
  const [database, fraud] = await Promise.all([
    options.database ? Promise.resolve(options.database) : freshDatabase(),
    startFakeFraud(),
  ]);
  const config = { ...testConfig, ...options.config };
  const clock = { offsetMs: 0 };
  const now = () => new Date(Date.now() + clock.offsetMs);

  const bankSim: SimulationSettings = {
    latencyMs: config.BANK_SIM_LATENCY_MS,
    failureRate: config.BANK_SIM_FAILURE_RATE,
  };
  const issuerSim: IssuerSimulatorSettings = {
    latencyMs: config.ISSUER_SIM_LATENCY_MS,
    failureRate: config.ISSUER_SIM_FAILURE_RATE,
    secret: config.ISSUER_SIM_SECRET,
    now,
  };
  const calls: CounterpartyCalls = { verify: 0, authorize: 0, issuerRefund: 0, debit: 0, bankRefund: 0 };
  const simulatedBanks = createSimulatedBanks(bankSim);
  // The simulators read these settings objects on every call: tests change them live.
  const simulatedIssuer = createIssuerSimulator(issuerSim);
  const banks: BankDirectory = {
    bank(bankCode) {
      const bank = simulatedBanks.bank(bankCode);
      return {
        debit: (request, signal) => {
          calls.debit++;
          return bank.debit(request, signal);
        },
        refund: (request, signal) => {
          calls.bankRefund++;
          return bank.refund(request, signal);
        },
      };
    },
  };
  const harness = { scriptAuthorize: undefined as CardAuthorizationOutcome | undefined };
  const issuer: IssuerAdapter = {
    verify: (request, signal) => {
      calls.verify++;
      return simulatedIssuer.verify(request, signal);
    },
    authorize: (request, signal) => {
      calls.authorize++;
      const scripted = harness.scriptAuthorize;
      return scripted === undefined ? simulatedIssuer.authorize(request, signal) : Promise.resolve(scripted);
    },
    refund: (request, signal) => {
      calls.issuerRefund++;
      return simulatedIssuer.refund(request, signal);
    },
  };

  // Breakers that only trip when a test means them to: a test taking a counterparty down must
  // not leave it open for the next one.
  const quietBreaker = { consecutiveFailures: 1_000, minimumCalls: 1_000 };
  const policy = (callee: string, timeoutMs: number) =>
    createDependencyPolicy(
      { caller: 'bank-integration', callee, timeoutMs, retry: false, breaker: quietBreaker },
      { logger },
    );
  const fraudPolicy = policy('fraud', 300);
  const bankPolicy = policy('bank', options.bankTimeoutMs ?? 2_000);
  const issuerPolicy = policy('issuer', options.issuerTimeoutMs ?? 2_000);

  const protos = loadProtos();
  const fraudClient = createGrpcClient(protos.koban.fraud.v1.FraudService, fraud.address, {
    timeoutMs: 300,
    policy: fraudPolicy,
  });
  const handlers = createBankIntegrationApp({
    config,
    db: database.db,
    fraudClient,
    bankPolicy,
    issuerPolicy,
    logger,
    now,
    banks,
    issuer,
  });
  const server = createGrpcServer({
    serviceName: 'bank-integration',
    logger,
    domainErrorStatus: bankErrorStatus,
    host: '127.0.0.1',
  });
  server.addService(protos.koban.bankintegration.v1.BankIntegrationService.service, handlers);
  const port = await server.listen(0);
  const client = createGrpcClient(
    protos.koban.bankintegration.v1.BankIntegrationService,
    `127.0.0.1:${port}`,
    {
      timeoutMs: 15_000,
    },
  );
  const sql = poolSql(database.db);

  return Object.assign(harness, {
    client,
    fraud,
    database,
    calls,
    bankSim,
    issuerSim,
    clock,
    logs,
    rows: (statement: string, params: ReadonlyArray<string | number> = []) => sql.rows(statement, params),
    async close(closeOptions: { keepDatabase?: boolean } = {}) {
      client.close();
      await server.shutdown(0);
      fraudClient.close();
      for (const each of [fraudPolicy, bankPolicy, issuerPolicy]) each.dispose();
      await fraud.close();
      if (closeOptions.keepDatabase !== true) await database.drop();
    },
  });
}

export const newUserId = (): string => `usr_${randomUUID()}`;
export const newChargeId = (): string => `chg_${randomUUID()}`;

/** Polls `probe` until it answers a value, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A domain error as the platform client rejects with it. */
export interface Refusal {
  code: string;
  status: number;
  message: string;
  details: Record<string, unknown>;
}

/** The domain error a call is refused with; fails if it succeeds or fails otherwise. */
export async function refusal(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (error) {
    const { name, code, status, message, details } = error as Refusal & { name: string };
    if (name !== 'DomainError') throw error;
    return { code, status, message, details };
  }
  throw new Error('the call succeeded; a refusal was expected');
}
