import type { Db } from '@koban/platform';
import type { AmountProfile } from '../scoring/fraud-rules.js';
import { emptyProfile } from './profile.js';

/** The connection of a transaction of `db.transaction`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** One row of a SELECT as the platform's pool returns it. */
type Row = Readonly<Record<string, unknown>>;

/** What scoring reads of a user's history. */
export interface ProfileReading {
  profile: AmountProfile;
  /** Whether the user paid this merchant / with this card before; null when none was given. */
  knownMerchant: boolean | null;
  knownCard: boolean | null;
}

/** SQL in, plain objects out: `user_profiles`, `user_merchants`, `user_cards` of `koban_fraud`. */
export interface ProfileStore {
  /** The user's profile and whether the merchant and card are known to it, in one round trip. */
  readForScoring(userId: string, merchantId: string, cardFingerprint: string): Promise<ProfileReading>;
}

/** The writes of the features consumer, on the event's transaction. */
export interface ProfileWriter {
  /** The user's profile, its row locked for the rest of the transaction (created empty if missing). */
  lockProfile(userId: string): Promise<AmountProfile>;
  saveProfile(userId: string, profile: AmountProfile, amount: bigint, paidAtMs: number): Promise<void>;
  notePaidMerchant(userId: string, merchantId: string, paidAtMs: number): Promise<void>;
  notePaidCard(userId: string, cardFingerprint: string, paidAtMs: number): Promise<void>;
}

export function createProfileStore(db: Db): ProfileStore {
  return {
    async readForScoring(userId, merchantId, cardFingerprint) {
      const [row] = await db.query(
        `SELECT p.payments, p.amount_mean, p.amount_variance,
                EXISTS (SELECT 1 FROM user_merchants WHERE user_id = ? AND merchant_id = ?) AS known_merchant,
                EXISTS (SELECT 1 FROM user_cards WHERE user_id = ? AND card_fingerprint = ?) AS known_card
           FROM (SELECT 1 AS one) AS anchor
           LEFT JOIN user_profiles p ON p.user_id = ?`,
        [userId, merchantId, userId, cardFingerprint, userId],
      );
      const profile: AmountProfile =
        row?.['payments'] == null
          ? emptyProfile
          : {
              payments: Number(row['payments']),
              mean: Number(row['amount_mean']),
              variance: Number(row['amount_variance']),
            };
      return {
        profile,
        knownMerchant: merchantId === '' ? null : Number(row?.['known_merchant']) === 1,
        knownCard: cardFingerprint === '' ? null : Number(row?.['known_card']) === 1,
      };
    },
  };
}

/** The consumer's writes through the event's transaction `tx`. */
export function profileWriter(tx: Tx): ProfileWriter {
  return {
    async lockProfile(userId) {
      // Created first so that the row lock below serialises concurrent first payments (TiDB
      // takes no gap locks, so locking a missing row would not).
      await tx.query(
        `INSERT IGNORE INTO user_profiles (user_id, payments, amount_mean, amount_variance, updated_at)
         VALUES (?, 0, 0, 0, CURRENT_TIMESTAMP(3))`,
        [userId],
      );
      const [rows] = await tx.query(
        'SELECT payments, amount_mean, amount_variance FROM user_profiles WHERE user_id = ? FOR UPDATE',
        [userId],
      );
      const row = (rows as Row[])[0];
      if (row === undefined) throw new Error('the profile row just created is not there');
      return {
        payments: Number(row['payments']),
        mean: Number(row['amount_mean']),
        variance: Number(row['amount_variance']),
      };
    },

    async saveProfile(userId, profile, amount, paidAtMs) {
      await tx.query(
        `UPDATE user_profiles
            SET payments = ?, amount_mean = ?, amount_variance = ?, last_amount = ?,
                last_paid_at = GREATEST(COALESCE(last_paid_at, ?), ?), updated_at = CURRENT_TIMESTAMP(3)
          WHERE user_id = ?`,
        [
          profile.payments,
          profile.mean,
          profile.variance,
          amount.toString(),
          new Date(paidAtMs),
          new Date(paidAtMs),
          userId,
        ],
      );
    },

    async notePaidMerchant(userId, merchantId, paidAtMs) {
      await tx.query(
        `INSERT INTO user_merchants (user_id, merchant_id, payments, first_paid_at, last_paid_at)
         VALUES (?, ?, 1, ?, ?)
         ON DUPLICATE KEY UPDATE payments = payments + 1, last_paid_at = GREATEST(last_paid_at, VALUES(last_paid_at))`,
        [userId, merchantId, new Date(paidAtMs), new Date(paidAtMs)],
      );
    },

    async notePaidCard(userId, cardFingerprint, paidAtMs) {
      await tx.query(
        `INSERT INTO user_cards (user_id, card_fingerprint, payments, first_paid_at, last_paid_at)
         VALUES (?, ?, 1, ?, ?)
         ON DUPLICATE KEY UPDATE payments = payments + 1, last_paid_at = GREATEST(last_paid_at, VALUES(last_paid_at))`,
        [userId, cardFingerprint, new Date(paidAtMs), new Date(paidAtMs)],
      );
    },
  };
}
