// The SLI metrics (issue 7), scraped from every service's Prometheus endpoint around a short
// load: each moves by what the load did. Then consumer lag: with campaign-promo stopped, its
// group's lag on payments.v1 rises by the payments made meanwhile (the lag monitor runs in
// payment, the topic's publisher, so it keeps reporting), and falls to zero once it is back.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  createMerchant,
  createQr,
  createUser,
  creditWallet,
  eventually,
  mapLimited,
  newKey,
  userBalance,
} from '../support/api-client.js';
import { startService, stopService } from '../support/platform.js';
import { metricsPorts, scrape, total, type Sample } from '../support/prometheus.js';
import { pay, payMerchant } from '../support/resilience.js';

const ports = metricsPorts();
const services = Object.keys(ports);

async function scrapeAll(): Promise<Record<string, Sample[]>> {
  return Object.fromEntries(
    await Promise.all(services.map(async (s) => [s, await scrape(ports[s])] as const)),
  );
}

const lagOf = (samples: Sample[], group: string, topic: string) =>
  total(samples, 'koban_kafka_consumer_lag', { group, topic });

describe('SLI metrics', () => {
  it('move on every service during a short load', async () => {
    const before = await scrapeAll();
    const shop = await createMerchant();
    const users = await mapLimited(Array.from({ length: 5 }), 5, async () => {
      const user = await createUser();
      await creditWallet(user.userId, 50_000);
      return user;
    });
    // Bank-integration's part: a linked bank account and a top-up.
    const bank = await api<{ bankAccountId: string }>('POST', `/v1/users/${users[0].userId}/bank-accounts`, {
      token: users[0].token,
      body: { bankCode: '0005', accountNumber: '7654321' },
    });
    assert.equal(bank.status, 201, JSON.stringify(bank.body));
    const topup = await api('POST', '/v1/topups', {
      token: users[0].token,
      idempotencyKey: newKey(),
      body: {
        userId: users[0].userId,
        amount: 1_000,
        currency: 'JPY',
        source: { bankAccountId: bank.body.bankAccountId },
      },
    });
    assert.equal(topup.status, 201, JSON.stringify(topup.body));

    const payments = 40;
    const answers = await mapLimited(
      Array.from({ length: payments }, (_, i) => users[i % users.length]),
      8,
      async (user) => {
        const response =
          Math.random() < 0.5
            ? await payMerchant(user, shop, 100)
            : await pay(user, { qrPayload: await createQr(shop, 100) });
        await userBalance(user);
        return response.status;
      },
    );
    assert.deepEqual(
      answers.filter((status) => status !== 201),
      [],
    );

    // Counters are cumulative: each must have grown by what the load did (the relay and the
    // lag monitor report within seconds).
    await eventually('the load in every service metric', 30_000, async () => {
      const after = await scrapeAll();
      const grew = (service: string, name: string, by: number, match: Record<string, string> = {}) =>
        total(after[service], name, match) - total(before[service], name, match) >= by;
      return (
        grew('payment', 'koban_payments_total', payments, { status: 'COMPLETED' }) &&
        grew('gateway', 'http_server_request_duration_count', payments * 2) &&
        ['payment', 'ledger', 'fraud', 'bank-integration', 'campaign-promo'].every((s) =>
          grew(s, 'rpc_server_call_duration_count', 1),
        ) &&
        grew('payment', 'rpc_server_call_duration_count', payments, {
          rpc_method: 'koban.payment.v1.PaymentService/CreatePayment',
        }) &&
        ['gateway', 'payment', 'ledger', 'fraud', 'bank-integration', 'campaign-promo'].every((s) =>
          grew(s, 'koban_db_transactions_committed_total', 1),
        ) &&
        grew('ledger', 'koban_db_rows_written_total', payments * 2) &&
        grew('payment', 'koban_outbox_published_total', payments)
      );
    });

    const after = await scrapeAll();
    // Gauges of state: present with their labels for every policy and publisher.
    for (const service of ['gateway', 'payment', 'bank-integration', 'campaign-promo']) {
      assert.ok(
        after[service].some((s) => s.name === 'koban_breaker_state'),
        `${service} reports its breakers' state`,
      );
    }
    assert.ok(
      after.payment.some((s) => s.name === 'koban_outbox_backlog'),
      'payment reports its outbox backlog',
    );
    assert.ok(
      after.payment.some((s) => s.name === 'koban_kafka_consumer_lag' && s.labels.group === 'fraud-features'),
      'payment reports the lag of fraud’s consumer group',
    );
    const p99Buckets = after.gateway.filter((s) => s.name === 'http_server_request_duration_bucket');
    assert.ok(p99Buckets.length > 0, 'the gateway exposes its HTTP latency histogram');
  });

  it('shows consumer lag rising while campaign-promo is stopped and falling after it is back', async () => {
    const group = 'campaign-promo.cashback-retry';
    const topic = 'payments.v1';
    const shop = await createMerchant();
    const user = await createUser();
    await creditWallet(user.userId, 50_000);

    await eventually(
      `${group} caught up`,
      60_000,
      async () => lagOf(await scrape(ports.payment), group, topic) === 0,
    );
    await stopService('campaign-promo');
    const payments = 20;
    try {
      for (let i = 0; i < payments; i += 1) {
        const response = await payMerchant(user, shop, 100);
        assert.equal(response.status, 201, JSON.stringify(response.body));
      }
      await eventually(`${group} lag ≥ ${payments}`, 60_000, async () => {
        const lag = lagOf(await scrape(ports.payment), group, topic);
        return lag >= payments;
      });
      console.log(
        `[metrics] ${group} lag on ${topic} with campaign-promo stopped: ${lagOf(await scrape(ports.payment), group, topic)}`,
      );
    } finally {
      await startService('campaign-promo');
    }
    await eventually(
      `${group} lag back to 0`,
      120_000,
      async () => lagOf(await scrape(ports.payment), group, topic) === 0,
    );
  });
});
