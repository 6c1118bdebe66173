import type { LedgerPort } from '../downstream/ledger-port.js';
import { CURRENCY } from '../money.js';
import { notFound } from '../payment-errors.js';
import type { MerchantQr } from './emvco.js';
import {
  invalidQr,
  newQrCodeId,
  qrPayload,
  type CreateQrCodeCommand,
  type QrCode,
  type QrPrintSettings,
} from './qr-code.js';
import type { QrCodeStore } from './qr-code-store.js';

/** Whom a scanned code pays, checked against what Koban issued. */
export interface QrPayee {
  merchantId: string;
  merchantAccountId: string;
  /** The code's amount; undefined for a static code. */
  amount: number | undefined;
  /** Set for a dynamic code Koban issued. */
  qrCodeId: string | null;
}

export interface QrCodeService {
  createQrCode(command: CreateQrCodeCommand): Promise<QrCode>;
  /** The payee of a parsed code; `invalid_qr` for an unknown merchant or code, or a forged amount. */
  resolvePayee(qr: MerchantQr): Promise<QrPayee>;
}

export interface QrCodeDeps {
  store: QrCodeStore;
  ledger: LedgerPort;
  print: QrPrintSettings;
  now: () => Date;
}

export function createQrCodeService(deps: QrCodeDeps): QrCodeService {
  return {
    async createQrCode(command) {
      const merchantAccountId = await deps.ledger.findMerchantAccount(command.merchantId);
      if (merchantAccountId === undefined) throw notFound('merchant');
      const qrCodeId = newQrCodeId();
      const code: QrCode = {
        qrCodeId,
        merchantId: command.merchantId,
        merchantAccountId,
        payload: qrPayload({ qrCodeId, merchantId: command.merchantId, amount: command.amount }, deps.print),
        amount: command.amount ?? 0,
        currency: CURRENCY,
        createdAt: deps.now(),
      };
      await deps.store.insert(code);
      return code;
    },

    async resolvePayee(qr) {
      if (qr.initiation === 'static') {
        const merchantAccountId = await deps.ledger.findMerchantAccount(qr.merchantId);
        if (merchantAccountId === undefined)
          throw invalidQr('unknown_merchant', 'the QR code names an unknown merchant');
        return { merchantId: qr.merchantId, merchantAccountId, amount: qr.amount, qrCodeId: null };
      }
      // A CRC is no signature: anyone can print a well-formed code, so a dynamic code is only
      // trusted as far as it agrees with the one Koban issued under its reference.
      const issued = qr.reference === undefined ? undefined : await deps.store.find(qr.reference);
      if (issued === undefined) throw invalidQr('unknown_qr_code', 'the QR code was not issued by Koban');
      if (issued.merchantId !== qr.merchantId || issued.amount !== qr.amount) {
        throw invalidQr('qr_code_mismatch', 'the QR code does not match the one issued under its reference');
      }
      return {
        merchantId: issued.merchantId,
        merchantAccountId: issued.merchantAccountId,
        amount: issued.amount,
        qrCodeId: issued.qrCodeId,
      };
    },
  };
}
