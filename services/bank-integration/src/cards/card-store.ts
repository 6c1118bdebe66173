import type { SealedPan } from '../vault/card-vault.js';
import { bytes, date, isDuplicateKey, num, text, type Row, type Sql } from '../sql.js';
import type { Card, CardBrand } from './card.js';

/** SQL of `cards`, the vault's table: the number only ever as a sealed PAN. */
export interface CardStore {
  /** Inserts a card; false when the user already has a card with that fingerprint. */
  insert(card: Card, sealed: SealedPan, now: Date): Promise<boolean>;
  /** A card registered again: new expiry, re-sealed under the active key. */
  refresh(cardId: string, expMonth: number, expYear: number, sealed: SealedPan, now: Date): Promise<void>;
  find(cardId: string): Promise<Card | undefined>;
  findByFingerprint(userId: string, fingerprint: string): Promise<Card | undefined>;
  /** A user's cards, newest first. */
  listByUser(userId: string): Promise<Card[]>;
  findSealed(cardId: string): Promise<SealedPan | undefined>;
  /** Replaces the sealed PAN if it is still sealed under `previousKeyId`; false otherwise. */
  reseal(cardId: string, previousKeyId: string, sealed: SealedPan, now: Date): Promise<boolean>;
}

const columns = 'card_id, user_id, brand, last4, exp_month, exp_year, fingerprint, created_at';

const toCard = (row: Row): Card => ({
  cardId: text(row['card_id']),
  userId: text(row['user_id']),
  brand: text(row['brand']) as CardBrand,
  last4: text(row['last4']),
  expMonth: num(row['exp_month']),
  expYear: num(row['exp_year']),
  fingerprint: text(row['fingerprint']),
  createdAt: date(row['created_at']),
});

export function createCardStore(sql: Sql): CardStore {
  return {
    async insert(card, sealed, now) {
      try {
        await sql.write(
          `INSERT INTO cards (card_id, user_id, brand, last4, exp_month, exp_year, fingerprint,
             pan_key_id, pan_iv, pan_ciphertext, pan_tag, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            card.cardId,
            card.userId,
            card.brand,
            card.last4,
            card.expMonth,
            card.expYear,
            card.fingerprint,
            sealed.keyId,
            sealed.iv,
            sealed.ciphertext,
            sealed.tag,
            card.createdAt,
            now,
          ],
        );
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    },

    async refresh(cardId, expMonth, expYear, sealed, now) {
      await sql.write(
        `UPDATE cards SET exp_month = ?, exp_year = ?, pan_key_id = ?, pan_iv = ?, pan_ciphertext = ?,
           pan_tag = ?, updated_at = ? WHERE card_id = ?`,
        [expMonth, expYear, sealed.keyId, sealed.iv, sealed.ciphertext, sealed.tag, now, cardId],
      );
    },

    async find(cardId) {
      const [row] = await sql.rows(`SELECT ${columns} FROM cards WHERE card_id = ?`, [cardId]);
      return row === undefined ? undefined : toCard(row);
    },

    async findByFingerprint(userId, fingerprint) {
      const [row] = await sql.rows(`SELECT ${columns} FROM cards WHERE user_id = ? AND fingerprint = ?`, [
        userId,
        fingerprint,
      ]);
      return row === undefined ? undefined : toCard(row);
    },

    async listByUser(userId) {
      const rows = await sql.rows(
        `SELECT ${columns} FROM cards WHERE user_id = ? ORDER BY created_at DESC, card_id`,
        [userId],
      );
      return rows.map(toCard);
    },

    async findSealed(cardId) {
      const [row] = await sql.rows(
        'SELECT pan_key_id, pan_iv, pan_ciphertext, pan_tag FROM cards WHERE card_id = ?',
        [cardId],
      );
      return row === undefined
        ? undefined
        : {
            keyId: text(row['pan_key_id']),
            iv: bytes(row['pan_iv']),
            ciphertext: bytes(row['pan_ciphertext']),
            tag: bytes(row['pan_tag']),
          };
    },

    async reseal(cardId, previousKeyId, sealed, now) {
      const changed = await sql.write(
        `UPDATE cards SET pan_key_id = ?, pan_iv = ?, pan_ciphertext = ?, pan_tag = ?, updated_at = ?
          WHERE card_id = ? AND pan_key_id = ?`,
        [sealed.keyId, sealed.iv, sealed.ciphertext, sealed.tag, now, cardId, previousKeyId],
      );
      return changed === 1;
    },
  };
}
