// PaymentCompleted reaches Kafka exactly once in effect, even when the payment service (and
// with it the outbox relay) is killed mid-batch: every completed payment's event arrives, and
// any redelivery carries the same event id, so a consumer deduping by event id applies it once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { decodeEnvelope, topics } from '@koban/platform';
import { createMerchant, createUser, creditWallet, eventually, api, newKey } from '../support/api-client.js';
import { assertLedgerInvariants } from '../support/ledger-invariants.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function paymentPid(): number {
  const out = execFileSync(path.join(root, 'node_modules/.bin/pm2'), ['pid', 'koban-payment'], {
    env: { ...process.env, PM2_HOME: path.join(root, '.run/pm2') },
    encoding: 'utf8',
  });
  return Number(out.trim().split('\n').pop());
}

describe('payment events through the outbox', () => {
  const kafka = new Kafka({
    clientId: 'e2e-payment-events',
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.NOTHING,
  });
  let consumer: Consumer;
  const groupId = `e2e-${newKey()}`;
  /** payment id → the distinct event ids seen for its PaymentCompleted, and how many records. */
  const seen = new Map<string, { eventIds: Set<string>; records: number }>();

  before(async () => {
    consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.payments, fromBeginning: false });
    let assigned = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      assigned = true;
    });
    await consumer.run({
      eachMessage: ({ message }) => {
        if (!message.value) return Promise.resolve();
        const envelope = decodeEnvelope(message.value);
        const completed = envelope.paymentCompleted;
        if (!completed) return Promise.resolve();
        const entry = seen.get(completed.paymentId) ?? { eventIds: new Set<string>(), records: 0 };
        entry.eventIds.add(message.headers?.['event-id']?.toString() ?? envelope.eventId);
        entry.records += 1;
        seen.set(completed.paymentId, entry);
        return Promise.resolve();
      },
    });
    await eventually('consumer group join', 30_000, () => Promise.resolve(assigned));
  });

  after(async () => {
    await consumer.disconnect();
    // A test's group left behind would show ever-growing lag on the platform's lag metric.
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).finally(() => admin.disconnect());
  });

  it('delivers each completed payment once in effect across a kill -9 of the relay', async () => {
    const payer = await createUser();
    const shop = await createMerchant();
    await creditWallet(payer.userId, 100_000);
    const pay = () =>
      api<{ paymentId: string; status: string }>('POST', '/v1/payments', {
        token: payer.token,
        idempotencyKey: newKey(),
        body: { userId: payer.userId, merchantId: shop.merchantId, amount: 100, currency: 'JPY' },
      });

    const before = paymentPid();
    // Five clients pay one after another; once 20 payments have completed the payment process
    // (and its relay) is killed with others in flight, so some committed outbox rows have not
    // been published, or published and not yet marked sent.
    const completed: string[] = [];
    let killed = false;
    const client = async () => {
      for (let i = 0; i < 12; i += 1) {
        const response = await pay();
        if (response.status === 201) completed.push(response.body.paymentId);
        if (!killed && completed.length >= 20) {
          killed = true;
          process.kill(before, 'SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 5 }, client));
    assert.ok(killed, 'the payment process was killed mid-stream');

    await eventually('payment restart', 30_000, async () => {
      const pid = paymentPid();
      if (pid <= 0 || pid === before) return false;
      const ready = await fetch(`${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}/readyz`).catch(
        () => null,
      );
      return ready?.status === 200;
    });
    // The gateway's breaker on payment may have opened during the outage: it answers 503 at
    // once until its half-open trial succeeds, so wait for the first payment to go through.
    await eventually('payments flowing again', 30_000, async () => {
      const response = await pay();
      if (response.status === 201) completed.push(response.body.paymentId);
      return response.status === 201;
    });
    const secondWave = await Promise.all(Array.from({ length: 10 }, pay));
    for (const response of secondWave) assert.equal(response.status, 201, JSON.stringify(response.body));
    completed.push(...secondWave.map((r) => r.body.paymentId));

    await eventually('every completed payment published', 60_000, () =>
      Promise.resolve(completed.every((id) => seen.has(id))),
    );
    for (const id of completed) {
      const entry = seen.get(id);
      assert.equal(
        entry?.eventIds.size,
        1,
        `payment ${id} was published under ${entry?.eventIds.size} event ids`,
      );
    }
    const redelivered = completed.filter((id) => (seen.get(id)?.records ?? 0) > 1).length;
    console.log(
      `${completed.length} payments completed; all published; ${redelivered} redelivered with the same event id`,
    );
    await assertLedgerInvariants();
  });
});
