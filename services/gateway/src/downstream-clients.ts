import {
  createGrpcClient,
  fromTimestamp,
  loadProtos,
  type CallPolicy,
  type GrpcClient,
  type KobanProtos,
} from '@koban/platform';

type V1<Service extends keyof KobanProtos['koban']> = KobanProtos['koban'][Service]['v1'];

/** The ledger's client: balances, history, accounts, and the funding transfers of admin credits. */
export type LedgerClient = GrpcClient<V1<'ledger'>['LedgerService']['service']>;
/** The payment service's client: QR codes, payments, refunds, transfers. */
export type PaymentClient = GrpcClient<V1<'payment'>['PaymentService']['service']>;
/** bank-integration's client: linking bank accounts and registering (verifying) cards. */
export type BankIntegrationClient = GrpcClient<V1<'bankintegration'>['BankIntegrationService']['service']>;
/** campaign-promo's client: campaign administration. */
export type CampaignClient = GrpcClient<V1<'campaign'>['CampaignService']['service']>;
/** The handlers of PartyService, which the gateway serves. */
export type PartyServiceDefinition = V1<'gateway'>['PartyService']['service'];

type Answer<Client, Method extends keyof Client> = Client[Method] extends (
  ...args: never[]
) => Promise<infer R>
  ? R
  : never;

/** Decoded ledger messages, as the client resolves them. */
export type LedgerBalance = Answer<LedgerClient, 'getBalances'>['balances'][number];
export type LedgerEntry = Answer<LedgerClient, 'listEntries'>['entries'][number];
/** Decoded payment messages. */
export type Payment = NonNullable<Answer<PaymentClient, 'getPayment'>['payment']>;
export type Refund = NonNullable<Answer<PaymentClient, 'createRefund'>['refund']>;
export type Transfer = NonNullable<Answer<PaymentClient, 'createTransfer'>['transfer']>;
export type QrCode = NonNullable<Answer<PaymentClient, 'createQrCode'>['qrCode']>;
export type Topup = NonNullable<Answer<PaymentClient, 'getTopup'>['topup']>;
/** Decoded bank-integration messages. */
export type BankAccount = NonNullable<Answer<BankIntegrationClient, 'linkBankAccount'>['bankAccount']>;
export type Card = NonNullable<Answer<BankIntegrationClient, 'registerCard'>['card']>;
/** Decoded campaign-promo messages. */
export type Campaign = NonNullable<Answer<CampaignClient, 'getCampaign'>['campaign']>;

/** The ledger client, its calls going through `policy` (the gateway→ledger balance policy, or the accounts one). */
export function createLedgerClient(address: string, policy: CallPolicy, timeoutMs: number): LedgerClient {
  return createGrpcClient(loadProtos().koban.ledger.v1.LedgerService, address, { timeoutMs, policy });
}

/** The payment client, its calls going through `policy` (the one gateway→payment policy). */
export function createPaymentClient(address: string, policy: CallPolicy, timeoutMs: number): PaymentClient {
  return createGrpcClient(loadProtos().koban.payment.v1.PaymentService, address, { timeoutMs, policy });
}

/** The bank-integration client, its calls going through the one gateway→bank-integration policy. */
export function createBankIntegrationClient(
  address: string,
  policy: CallPolicy,
  timeoutMs: number,
): BankIntegrationClient {
  return createGrpcClient(loadProtos().koban.bankintegration.v1.BankIntegrationService, address, {
    timeoutMs,
    policy,
  });
}

/** The campaign-promo client, its calls going through the one gateway→campaign-promo policy. */
export function createCampaignClient(address: string, policy: CallPolicy, timeoutMs: number): CampaignClient {
  return createGrpcClient(loadProtos().koban.campaign.v1.CampaignService, address, { timeoutMs, policy });
}

/**
 * A proto int64 (a decimal string) as a JSON number. Amounts and balances are far below 2^53;
 * one that is not would be silently rounded, so it is a bug to report instead.
 */
export function int64ToNumber(value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`int64 ${value} does not fit a JSON number exactly`);
  return number;
}

/** A proto timestamp as ISO-8601, or undefined when unset. */
export function isoTime(timestamp: Parameters<typeof fromTimestamp>[0]): string | undefined {
  return fromTimestamp(timestamp)?.toISOString();
}
