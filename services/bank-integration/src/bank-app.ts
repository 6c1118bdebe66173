import type { Db, DependencyPolicy, Logger } from '@koban/platform';
import { createBankAccountService } from './bank-accounts/bank-account-service.js';
import { createBankAccountStore } from './bank-accounts/bank-account-store.js';
import type { BankDirectory } from './banks/bank-adapter.js';
import { createSimulatedBanks } from './banks/bank-simulator.js';
import { guardBanks } from './banks/guarded-banks.js';
import { createCardService } from './cards/card-service.js';
import { createCardStore } from './cards/card-store.js';
import { createChargeService } from './charges/charge-service.js';
import { createChargeStore } from './charges/charge-store.js';
import { activeVaultKeyId, type Config } from './config.js';
import { createBankIntegrationHandlers } from './grpc-api.js';
import { guardIssuer } from './issuer/guarded-issuer.js';
import type { IssuerAdapter } from './issuer/issuer-adapter.js';
import { createIssuerSimulator } from './issuer/issuer-simulator.js';
import { createLockoutGuard, type FraudClient } from './lockout/lockout-guard.js';
import type { BankIntegrationHandlers } from './rpc.js';
import { poolSql } from './sql.js';
import { createCardVault } from './vault/card-vault.js';

/** The settings the features read (a subset of the service config, so tests can pass their own). */
export type BankAppConfig = Pick<
  Config,
  | 'CARD_VAULT_KEYS'
  | 'CARD_VAULT_ACTIVE_KEY'
  | 'CARD_FINGERPRINT_SECRET'
  | 'ISSUER_SIM_SECRET'
  | 'ISSUER_SIM_LATENCY_MS'
  | 'ISSUER_SIM_FAILURE_RATE'
  | 'BANK_SIM_LATENCY_MS'
  | 'BANK_SIM_FAILURE_RATE'
>;

export interface BankAppDeps {
  config: BankAppConfig;
  db: Db;
  /** Built with the bank-integration→fraud policy (300 ms, breaker). */
  fraudClient: FraudClient;
  /** One policy for every bank, one for the issuer: timeout and breaker of each counterparty. */
  bankPolicy: DependencyPolicy;
  issuerPolicy: DependencyPolicy;
  logger: Logger;
  now?: () => Date;
  /** The banks and the issuer; the in-service simulators configured from `config` by default. */
  banks?: BankDirectory;
  issuer?: IssuerAdapter;
}

/** The simulated banks and issuer as configured: what a real deployment would replace by adapters. */
export function simulatedCounterparties(
  config: BankAppConfig,
  now: () => Date = () => new Date(),
): { banks: BankDirectory; issuer: IssuerAdapter } {
  return {
    banks: createSimulatedBanks({
      latencyMs: config.BANK_SIM_LATENCY_MS,
      failureRate: config.BANK_SIM_FAILURE_RATE,
    }),
    issuer: createIssuerSimulator({
      secret: config.ISSUER_SIM_SECRET,
      latencyMs: config.ISSUER_SIM_LATENCY_MS,
      failureRate: config.ISSUER_SIM_FAILURE_RATE,
      now,
    }),
  };
}

/** Builds the features from their dependencies: what main.ts serves, and what tests drive. */
export function createBankIntegrationApp(deps: BankAppDeps): BankIntegrationHandlers {
  const { config, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const sql = poolSql(deps.db);
  const simulated = simulatedCounterparties(config, now);
  const banks = guardBanks(deps.banks ?? simulated.banks, deps.bankPolicy);
  const issuer = guardIssuer(deps.issuer ?? simulated.issuer, deps.issuerPolicy);

  const vault = createCardVault({
    keys: config.CARD_VAULT_KEYS,
    activeKeyId: activeVaultKeyId(config),
    fingerprintSecret: config.CARD_FINGERPRINT_SECRET,
  });
  const lockout = createLockoutGuard({ client: deps.fraudClient, logger, now });
  const bankAccounts = createBankAccountService({ store: createBankAccountStore(sql), now, logger });
  const cards = createCardService({ store: createCardStore(sql), vault, issuer, lockout, now, logger });
  const charges = createChargeService({
    db: deps.db,
    store: createChargeStore(sql),
    bankAccounts,
    cards,
    banks,
    issuer,
    lockout,
    now,
    logger,
  });
  return createBankIntegrationHandlers({ bankAccounts, cards, charges });
}
