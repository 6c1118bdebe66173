import { z } from 'zod';
import { addressEnv, commonEnv, envInt, grpcPortEnv, dependencyPresets } from '@koban/platform';
import { parseVaultKeys } from './vault/card-vault.js';

/**
 * DEV ONLY, public in this repository: the vault key, fingerprint secret and issuer simulator
 * secret a development or test process runs with when the variables are not set. A production
 * process (`NODE_ENV=production`) refuses to start with any of them.
 */
export const DEV_CARD_VAULT_KEYS = 'dev-v1:vF0jisWltJu08FBLfCmmK5iX6Sr26aHnI4ajFoOOaJY=';
export const DEV_CARD_FINGERPRINT_SECRET = 'koban-dev-card-fingerprint-secret-not-for-production';
export const DEV_ISSUER_SIM_SECRET = 'koban-dev-issuer-sim-secret-not-for-production';

const DEV_VAULT_KEYS = parseVaultKeys(DEV_CARD_VAULT_KEYS);
const refusedInProduction = 'must be set to a secret in production (the dev default is not allowed)';

const vaultKeysEnv = () =>
  z.string().transform((value, ctx) => {
    try {
      return parseVaultKeys(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const secretEnv = (devDefault: string) =>
  z.string().min(16, 'must be at least 16 characters').default(devDefault);
const rateEnv = () => z.coerce.number().min(0).max(1);

/** Every variable the bank-integration service reads; parsed once in main.ts. */
export const configSchema = z
  .object({
    ...commonEnv,
    GRPC_PORT: grpcPortEnv(50053),
    MYSQL_DATABASE: z.string().default('koban_bank'),
    FRAUD_ADDR: addressEnv('127.0.0.1:50054'),
    /** Budget of each call to fraud (lockout state, recording a failed check); ARCHITECTURE.md: 300 ms. */
    FRAUD_TIMEOUT_MS: envInt()
      .min(10)
      .max(10_000)
      .default(dependencyPresets.bankIntegrationToFraud.timeoutMs),
    /** How long a charge waits for its bank before answering PENDING (payment allows 3 s in all). */
    BANK_TIMEOUT_MS: envInt().min(10).max(60_000).default(dependencyPresets.bankIntegrationToBank.timeoutMs),
    /** How long a card check or charge waits for the issuer. */
    ISSUER_TIMEOUT_MS: envInt()
      .min(10)
      .max(60_000)
      .default(dependencyPresets.bankIntegrationToIssuer.timeoutMs),

    /** The simulated banks: latency of every call, and the share of answers lost (0..1). */
    BANK_SIM_LATENCY_MS: envInt().min(0).max(600_000).default(20),
    BANK_SIM_FAILURE_RATE: rateEnv().default(0),
    /** The simulated issuer, likewise. */
    ISSUER_SIM_LATENCY_MS: envInt().min(0).max(600_000).default(20),
    ISSUER_SIM_FAILURE_RATE: rateEnv().default(0),
    /** Derives the CVC of every card but the public test cards; whoever holds it knows every CVC. */
    ISSUER_SIM_SECRET: secretEnv(DEV_ISSUER_SIM_SECRET),

    /** Vault keys, `<id>:<base64 of 32 bytes>` separated by commas; old keys stay to read old cards. */
    CARD_VAULT_KEYS: vaultKeysEnv().default(DEV_VAULT_KEYS),
    /** The key new cards are sealed under; the last one of CARD_VAULT_KEYS when unset. */
    CARD_VAULT_ACTIVE_KEY: z.string().min(1).optional(),
    /** Keys the card fingerprints (HMAC-SHA256); changing it makes every card look new to fraud. */
    CARD_FINGERPRINT_SECRET: secretEnv(DEV_CARD_FINGERPRINT_SECRET),
  })
  .superRefine((config, ctx) => {
    const active = config.CARD_VAULT_ACTIVE_KEY;
    if (active !== undefined && !config.CARD_VAULT_KEYS.has(active)) {
      ctx.addIssue({
        code: 'custom',
        path: ['CARD_VAULT_ACTIVE_KEY'],
        message: 'is not a key of CARD_VAULT_KEYS',
      });
    }
    if (config.NODE_ENV !== 'production') return;
    const devKeys = [...DEV_VAULT_KEYS.values()];
    if ([...config.CARD_VAULT_KEYS.values()].some((key) => devKeys.some((dev) => dev.equals(key)))) {
      ctx.addIssue({ code: 'custom', path: ['CARD_VAULT_KEYS'], message: refusedInProduction });
    }
    if (config.CARD_FINGERPRINT_SECRET === DEV_CARD_FINGERPRINT_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['CARD_FINGERPRINT_SECRET'], message: refusedInProduction });
    }
    if (config.ISSUER_SIM_SECRET === DEV_ISSUER_SIM_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['ISSUER_SIM_SECRET'], message: refusedInProduction });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** The id of the key new cards are sealed under. */
export function activeVaultKeyId(config: Pick<Config, 'CARD_VAULT_KEYS' | 'CARD_VAULT_ACTIVE_KEY'>): string {
  return config.CARD_VAULT_ACTIVE_KEY ?? [...config.CARD_VAULT_KEYS.keys()].at(-1) ?? '';
}
