import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError, GrpcCallError, createDependencyPolicy, createLogger } from '@koban/platform';
import { createCampaignPort, deferReason, type CampaignClient } from './campaign-port.js';

const logger = createLogger({ service: 'payment-test', level: 'silent' });
const unused = () => Promise.reject(new Error('unused'));

function campaignClient(overrides: Partial<CampaignClient>): CampaignClient {
  return {
    createCampaign: unused,
    getCampaign: unused,
    listCampaigns: unused,
    grantCashback: unused,
    getCashbackGrant: unused,
    clawbackCashback: unused,
    close: () => undefined,
    ...overrides,
  };
}

const subject = {
  paymentId: 'pmt_1',
  userId: 'usr_1',
  pointsAccountId: 'acc_points',
  merchantId: 'mch_1',
  amount: 1_000,
  currency: 'JPY',
  paidAt: new Date(0),
};

const grant = (status: 'GRANT_STATUS_GRANTED' | 'GRANT_STATUS_NONE', points: string) => ({
  grant: {
    paymentId: 'pmt_1',
    status,
    campaignId: status === 'GRANT_STATUS_GRANTED' ? 'cmp_1' : '',
    points,
    ledgerTransferId: '',
    clawedBackPoints: '0',
    grantedAt: null,
  },
  replayed: false,
});

/** The errors a real policy throws for a timeout and for an open breaker. */
async function policyErrors(): Promise<{ timeout: unknown; open: unknown }> {
  const policy = createDependencyPolicy(
    {
      caller: 'payment-test',
      callee: 'campaign-port-test',
      timeoutMs: 10,
      retry: false,
      breaker: { consecutiveFailures: 1 },
    },
    { logger },
  );
  try {
    const timeout = await policy
      .execute(() => new Promise<never>(() => undefined), { idempotent: false })
      .catch((error: unknown) => error);
    const open = await policy
      .execute(() => Promise.resolve(1), { idempotent: false })
      .catch((error: unknown) => error);
    return { timeout, open };
  } finally {
    policy.dispose();
  }
}

void describe('deferReason', () => {
  void it('names why campaign-promo gave no answer, as CashbackDeferred says it', async () => {
    const { timeout, open } = await policyErrors();
    assert.equal(deferReason(open), 'breaker_open');
    assert.equal(deferReason(timeout), 'timeout');
    assert.equal(deferReason(new GrpcCallError(4, '/m', 'deadline')), 'timeout');
    assert.equal(deferReason(new GrpcCallError(14, '/m', 'down')), 'unavailable');
    assert.equal(deferReason(new DomainError('service_unavailable', 'db down')), 'unavailable');
    assert.equal(deferReason(new DomainError('invalid_request', 'bad')), 'error');
    assert.equal(deferReason(new Error('bug')), 'error');
  });
});

void describe('createCampaignPort', () => {
  void it('answers a grant with its points, and NONE when no campaign matched', async () => {
    const granted = createCampaignPort({
      client: campaignClient({ grantCashback: () => Promise.resolve(grant('GRANT_STATUS_GRANTED', '10')) }),
      budgetMs: 1_000,
      logger,
    });
    assert.deepEqual(await granted.grantCashback(subject), {
      kind: 'granted',
      points: 10,
      campaignId: 'cmp_1',
    });
    const none = createCampaignPort({
      client: campaignClient({ grantCashback: () => Promise.resolve(grant('GRANT_STATUS_NONE', '0')) }),
      budgetMs: 1_000,
      logger,
    });
    assert.deepEqual(await none.grantCashback(subject), { kind: 'none' });
  });

  void it('defers at the budget even when the call does not end, and cancels it', async () => {
    let cancelled = false;
    const port = createCampaignPort({
      client: campaignClient({
        grantCashback: (_request, options) =>
          new Promise(() => {
            options?.signal?.addEventListener('abort', () => {
              cancelled = true;
            });
          }),
      }),
      budgetMs: 50,
      logger,
    });
    const started = Date.now();
    assert.deepEqual(await port.grantCashback(subject), { kind: 'deferred', reason: 'timeout' });
    assert.ok(Date.now() - started < 500);
    assert.equal(cancelled, true);
  });

  void it('sends a clawback with the totals, and defers it when campaign-promo fails', async () => {
    let sent: unknown;
    const port = createCampaignPort({
      client: campaignClient({
        clawbackCashback: (request) => {
          sent = request;
          return Promise.resolve({
            clawback: {
              refundId: 'rfd_1',
              paymentId: 'pmt_1',
              campaignId: 'cmp_1',
              points: '3',
              ledgerTransferId: '',
              createdAt: null,
            },
            replayed: false,
          });
        },
      }),
      budgetMs: 1_000,
      logger,
    });
    const claw = { refundId: 'rfd_1', paymentId: 'pmt_1', paymentAmount: 1_000, totalRefunded: 300 };
    assert.deepEqual(await port.clawbackCashback(claw), { kind: 'clawed_back', points: 3 });
    assert.deepEqual(sent, {
      refundId: 'rfd_1',
      paymentId: 'pmt_1',
      paymentAmount: '1000',
      totalRefundedAmount: '300',
    });
    const down = createCampaignPort({
      client: campaignClient({ clawbackCashback: () => Promise.reject(new GrpcCallError(14, '/m', 'down')) }),
      budgetMs: 1_000,
      logger,
    });
    assert.deepEqual(await down.clawbackCashback(claw), { kind: 'deferred', reason: 'unavailable' });
  });
});
