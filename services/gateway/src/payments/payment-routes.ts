import { z } from 'zod';
import type { PaymentClient } from '../downstream-clients.js';
import type { HttpApp } from '../http/app.js';
import {
  callerMerchant,
  callerParty,
  notFound,
  ownMerchant,
  ownUser,
  type AccessControl,
} from '../http/authentication.js';
import { handler } from '../http/request-scope.js';
import {
  CURRENCY,
  checkAmount,
  checkCurrency,
  checkMoney,
  idempotencyKeyOf,
  parseOrReject,
  requireIdempotencyKey,
} from '../http/validation.js';
import {
  paymentBody,
  paymentMethod,
  paymentOutcome,
  paymentView,
  qrCodeBody,
  qrCodeView,
  refundBody,
  refundOutcome,
  transferBody,
  transferOutcome,
} from './payment.js';

export interface PaymentRoutesDeps {
  access: AccessControl;
  payment: Pick<
    PaymentClient,
    'createQrCode' | 'createPayment' | 'getPayment' | 'createRefund' | 'createTransfer'
  >;
}

const merchantPath = z.object({ merchantId: z.string().min(1) });
const paymentPath = z.object({ paymentId: z.string().min(1) });

function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`payment answered without ${what}`);
  return value;
}

/**
 * QR codes, payments, refunds and P2P transfers: the gateway→payment hop. Money-moving POSTs
 * pass the client's `Idempotency-Key` and the authenticated caller to payment, which owns
 * idempotency; a replay is answered like the original, with `Idempotent-Replayed: true`.
 */
export function registerPaymentRoutes(app: HttpApp, deps: PaymentRoutesDeps): void {
  app.post(
    '/v1/merchants/:merchantId/qr-codes',
    { onRequest: deps.access.require('merchant') },
    handler(async (request) => {
      const merchant = ownMerchant(request, parseOrReject(merchantPath, request.params).merchantId);
      const body = parseOrReject(qrCodeBody, request.body ?? {});
      if (body.currency !== undefined) checkCurrency(body.currency);
      if (body.amount !== undefined) checkAmount(body.amount);
      const { qrCode } = await deps.payment.createQrCode({
        merchantId: merchant.merchantId,
        amount: String(body.amount ?? 0),
        currency: body.currency ?? CURRENCY,
      });
      return { status: 201, body: qrCodeView(present(qrCode, 'a QR code')) };
    }),
  );

  app.post(
    '/v1/payments',
    { onRequest: [deps.access.require('user'), requireIdempotencyKey] },
    handler(async (request) => {
      const body = parseOrReject(paymentBody, request.body);
      const payer = ownUser(request, body.userId);
      if (body.currency !== undefined) checkCurrency(body.currency);
      if (body.amount !== undefined) checkAmount(body.amount);
      const response = await deps.payment.createPayment({
        idempotencyKey: idempotencyKeyOf(request.headers),
        callerId: payer.userId,
        payerUserId: payer.userId,
        ...(body.qrPayload !== undefined
          ? { qrPayload: body.qrPayload }
          : { merchantId: body.merchantId ?? '' }),
        amount: String(body.amount ?? 0),
        currency: body.currency ?? '',
        method: paymentMethod(body.method),
        cardId: body.cardId ?? '',
        clientIp: request.ip,
      });
      return paymentOutcome(present(response.payment, 'a payment'), response.replayed);
    }),
  );

  app.get(
    '/v1/payments/:paymentId',
    { onRequest: deps.access.require('user', 'merchant') },
    handler(async (request) => {
      const { paymentId } = parseOrReject(paymentPath, request.params);
      const { payment } = await deps.payment.getPayment({ paymentId });
      const found = present(payment, 'a payment');
      const caller = callerParty(request);
      const visible =
        (caller.kind === 'user' && found.payerUserId === caller.user.userId) ||
        (caller.kind === 'merchant' && found.merchantId === caller.merchant.merchantId);
      if (!visible) throw notFound('payment');
      return { status: 200, body: paymentView(found) };
    }),
  );

  app.post(
    '/v1/payments/:paymentId/refunds',
    { onRequest: [deps.access.require('merchant'), requireIdempotencyKey] },
    handler(async (request) => {
      const { paymentId } = parseOrReject(paymentPath, request.params);
      const body = parseOrReject(refundBody, request.body ?? {});
      if (body.amount !== undefined) checkAmount(body.amount);
      // Payment checks the payee too; asking first keeps "not yours" a 404 whatever it answers.
      const { payment } = await deps.payment.getPayment({ paymentId });
      const merchant = callerMerchant(request);
      if (present(payment, 'a payment').merchantId !== merchant.merchantId) throw notFound('payment');
      const response = await deps.payment.createRefund({
        idempotencyKey: idempotencyKeyOf(request.headers),
        callerId: merchant.merchantId,
        paymentId,
        amount: String(body.amount ?? 0),
      });
      return refundOutcome(present(response.refund, 'a refund'), response.replayed);
    }),
  );

  app.post(
    '/v1/transfers',
    { onRequest: [deps.access.require('user'), requireIdempotencyKey] },
    handler(async (request) => {
      const body = parseOrReject(transferBody, request.body);
      const sender = ownUser(request, body.fromUserId);
      checkMoney(body);
      const response = await deps.payment.createTransfer({
        idempotencyKey: idempotencyKeyOf(request.headers),
        callerId: sender.userId,
        fromUserId: sender.userId,
        toUserId: body.toUserId,
        amount: String(body.amount),
        currency: body.currency,
        message: body.message ?? '',
        clientIp: request.ip,
      });
      return transferOutcome(present(response.transfer, 'a transfer'), response.replayed);
    }),
  );
}
