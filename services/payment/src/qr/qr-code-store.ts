import { date, num, text, type Sql } from '../sql.js';
import { CURRENCY } from '../money.js';
import type { QrCode } from './qr-code.js';

/** SQL of `qr_codes`. */
export interface QrCodeStore {
  insert(code: QrCode): Promise<void>;
  find(qrCodeId: string): Promise<QrCode | undefined>;
}

export function createQrCodeStore(sql: Sql): QrCodeStore {
  return {
    async insert(code) {
      await sql.write(
        `INSERT INTO qr_codes (qr_code_id, merchant_id, merchant_account_id, amount, currency, payload, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          code.qrCodeId,
          code.merchantId,
          code.merchantAccountId,
          code.amount,
          code.currency,
          code.payload,
          code.createdAt,
        ],
      );
    },
    async find(qrCodeId) {
      const [row] = await sql.rows(
        `SELECT qr_code_id, merchant_id, merchant_account_id, amount, payload, created_at
           FROM qr_codes WHERE qr_code_id = ?`,
        [qrCodeId],
      );
      if (row === undefined) return undefined;
      return {
        qrCodeId: text(row['qr_code_id']),
        merchantId: text(row['merchant_id']),
        merchantAccountId: text(row['merchant_account_id']),
        payload: text(row['payload']),
        amount: num(row['amount']),
        currency: CURRENCY,
        createdAt: date(row['created_at']),
      };
    },
  };
}
