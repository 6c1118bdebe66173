import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** A user of the public API and the ledger accounts holding their money and points. */
export interface User {
  userId: string;
  displayName: string;
  walletAccountId: string;
  pointsAccountId: string;
  createdAt: Date;
}

/** A merchant and the ledger account payments to it are credited to. */
export interface Merchant {
  merchantId: string;
  name: string;
  /** ISO 18245 category code; empty when not given. */
  mcc: string;
  accountId: string;
  createdAt: Date;
}

/** Who a bearer credential belongs to. Admins are configuration, not stored parties. */
export type Party =
  { kind: 'user'; user: User } | { kind: 'merchant'; merchant: Merchant } | { kind: 'admin' };

/** The parties stored with credentials (an admin has none). */
export type StoredParty = Exclude<Party, { kind: 'admin' }>;

/** The domain errors of parties; `party-grpc.ts` maps each to a gRPC status. */
export type PartyErrorCode = 'invalid_request' | 'not_found' | 'unauthenticated';

/** Bearer credentials longer than this are refused unhashed: no real one comes close. */
export const MAX_CREDENTIAL_LENGTH = 512;

const SECRET_BYTES = 32;

/** An opaque, random, non-monotonic id such as `usr_3f9c…` (128 bits). */
export function newPartyId(prefix: 'usr' | 'mch'): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/**
 * A new bearer secret: 32 random bytes, base64url, behind a prefix telling user tokens (`kbt_`)
 * from merchant API keys (`kbk_`) so leaked ones are recognisable. Shown once; only its hash is kept.
 */
export function newCredential(kind: 'user' | 'merchant'): string {
  return `${kind === 'user' ? 'kbt' : 'kbk'}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

/** The stored form of a credential: SHA-256, lowercase hex. */
export function hashCredential(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

/**
 * Compares a presented secret with the expected one in constant time: both are hashed first,
 * so neither their contents nor their lengths leak through timing.
 */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** What `POST /v1/users` and `PartyService.CreateUser` accept. */
export const createUserInput = z.object({
  displayName: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
});

/** What `POST /v1/merchants` and `PartyService.CreateMerchant` accept. */
export const createMerchantInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  mcc: z
    .string()
    .regex(/^\d{4}$/, 'must be four digits (ISO 18245)')
    .optional(),
});

export type CreateUserInput = z.infer<typeof createUserInput>;
export type CreateMerchantInput = z.infer<typeof createMerchantInput>;
