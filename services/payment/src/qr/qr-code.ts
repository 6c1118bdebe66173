import { randomBytes } from 'node:crypto';
import { CURRENCY, checkAmount, checkCurrency } from '../money.js';
import { PaymentError, invalidRequest } from '../payment-errors.js';
import { encodeMerchantQr, type InvalidQrReason } from './emvco.js';

/** A QR code a merchant had issued; `amount` 0 for a static code. */
export interface QrCode {
  qrCodeId: string;
  merchantId: string;
  merchantAccountId: string;
  payload: string;
  amount: number;
  currency: typeof CURRENCY;
  createdAt: Date;
}

/** What Koban prints in every code besides the merchant id (`QR_MERCHANT_*` config). */
export interface QrPrintSettings {
  merchantName: string;
  merchantCity: string;
  mcc: string;
  countryCode: string;
}

/** Why a scanned payload is refused: a format problem, or one found against stored state. */
export type QrRefusal = InvalidQrReason | 'unknown_merchant' | 'unknown_qr_code' | 'qr_code_mismatch';

export function invalidQr(reason: QrRefusal, message: string): PaymentError {
  return new PaymentError('invalid_qr', message, { reason });
}

/** Merchant ids go into the QR template (tag 26, at most 99 characters with the GUI). */
const merchantIdPattern = /^[\x21-\x7e]{1,80}$/;

export interface CreateQrCodeCommand {
  merchantId: string;
  /** Undefined for a static code. */
  amount: number | undefined;
}

/** Checks a CreateQrCode request: a merchant id, yen (empty means JPY), no amount or 1..10,000,000. */
export function checkCreateQrCode(input: {
  merchantId: string;
  amount: string;
  currency: string;
}): CreateQrCodeCommand {
  if (!merchantIdPattern.test(input.merchantId)) {
    throw invalidRequest({ merchantId: 'required, 1 to 80 printable ASCII characters' });
  }
  if (input.currency !== '') checkCurrency(input.currency);
  return {
    merchantId: input.merchantId,
    amount: input.amount === '0' ? undefined : checkAmount(input.amount),
  };
}

/** A new QR code id: short enough for the EMVCo reference label (tag 62/05, 25 characters). */
export function newQrCodeId(): string {
  return `qr_${randomBytes(10).toString('hex')}`;
}

/** The EMVCo payload of a code: dynamic (amount and reference) when it has an amount. */
export function qrPayload(
  code: { qrCodeId: string; merchantId: string; amount: number | undefined },
  print: QrPrintSettings,
): string {
  const common = {
    merchantId: code.merchantId,
    mcc: print.mcc,
    currency: CURRENCY,
    countryCode: print.countryCode,
    merchantName: print.merchantName,
    merchantCity: print.merchantCity,
  };
  return code.amount === undefined
    ? encodeMerchantQr({ ...common, initiation: 'static' })
    : encodeMerchantQr({ ...common, initiation: 'dynamic', amount: code.amount, reference: code.qrCodeId });
}
