import { DomainError } from '@koban/platform';
import type { LedgerClient } from '../downstream-clients.js';
import {
  MAX_CREDENTIAL_LENGTH,
  hashCredential,
  newCredential,
  newPartyId,
  type CreateMerchantInput,
  type CreateUserInput,
  type Merchant,
  type PartyErrorCode,
  type StoredParty,
  type User,
} from './party.js';
import type { PartyStore } from './party-store.js';
import type { TokenCache } from './token-cache.js';

export interface PartyServiceDeps {
  store: PartyStore;
  ledger: Pick<LedgerClient, 'openAccount'>;
  tokenCache: TokenCache;
}

/** The use cases of parties, shared by the HTTP routes and the PartyService gRPC handlers. */
export interface PartyService {
  /** Opens the user's wallet (JPY) and points accounts, then stores the user and its token's hash. */
  createUser(input: CreateUserInput): Promise<{ user: User; token: string }>;
  /** Opens the merchant's account (JPY), then stores the merchant and its API key's hash. */
  createMerchant(input: CreateMerchantInput): Promise<{ merchant: Merchant; apiKey: string }>;
  /** The user, or `not_found`. */
  getUser(userId: string): Promise<User>;
  /** The merchant, or `not_found`. */
  getMerchant(merchantId: string): Promise<Merchant>;
  /** The party a user token or merchant API key belongs to, or `unauthenticated`. */
  authenticate(credential: string): Promise<StoredParty>;
}

const fail = (code: PartyErrorCode, message: string) => new DomainError<PartyErrorCode>(code, message);

export function createPartyService(deps: PartyServiceDeps): PartyService {
  /**
   * OpenAccount answers the existing account for the same owner, kind and currency, so a retry
   * after a lost answer (or a crash before the party row was written) is safe.
   */
  async function openAccount(
    ownerType: 'OWNER_TYPE_USER' | 'OWNER_TYPE_MERCHANT',
    ownerId: string,
    kind: 'ACCOUNT_KIND_WALLET' | 'ACCOUNT_KIND_POINTS' | 'ACCOUNT_KIND_MERCHANT',
    currency: 'JPY' | 'POINTS',
  ): Promise<string> {
    const { account } = await deps.ledger.openAccount({
      ownerType,
      ownerId,
      kind,
      currency,
      overdraftAllowed: false,
    });
    if (!account?.accountId) throw new Error(`ledger OpenAccount answered without an account for ${ownerId}`);
    return account.accountId;
  }

  return {
    async createUser(input) {
      const userId = newPartyId('usr');
      const [walletAccountId, pointsAccountId] = await Promise.all([
        openAccount('OWNER_TYPE_USER', userId, 'ACCOUNT_KIND_WALLET', 'JPY'),
        openAccount('OWNER_TYPE_USER', userId, 'ACCOUNT_KIND_POINTS', 'POINTS'),
      ]);
      const user: User = {
        userId,
        displayName: input.displayName,
        walletAccountId,
        pointsAccountId,
        createdAt: new Date(),
      };
      const token = newCredential('user');
      await deps.store.insertUser(user, hashCredential(token));
      return { user, token };
    },

    async createMerchant(input) {
      const merchantId = newPartyId('mch');
      const accountId = await openAccount('OWNER_TYPE_MERCHANT', merchantId, 'ACCOUNT_KIND_MERCHANT', 'JPY');
      const merchant: Merchant = {
        merchantId,
        name: input.name,
        mcc: input.mcc ?? '',
        accountId,
        createdAt: new Date(),
      };
      const apiKey = newCredential('merchant');
      await deps.store.insertMerchant(merchant, hashCredential(apiKey));
      return { merchant, apiKey };
    },

    async getUser(userId) {
      const user = await deps.store.findUser(userId);
      if (!user) throw fail('not_found', 'no such user');
      return user;
    },

    async getMerchant(merchantId) {
      const merchant = await deps.store.findMerchant(merchantId);
      if (!merchant) throw fail('not_found', 'no such merchant');
      return merchant;
    },

    async authenticate(credential) {
      if (credential.length === 0 || credential.length > MAX_CREDENTIAL_LENGTH) {
        throw fail('unauthenticated', 'invalid credential');
      }
      const hash = hashCredential(credential);
      const cached = await deps.tokenCache.get(hash);
      if (cached) return cached;
      const party = await deps.store.findByCredentialHash(hash);
      if (!party) throw fail('unauthenticated', 'invalid credential');
      await deps.tokenCache.set(hash, party);
      return party;
    },
  };
}
