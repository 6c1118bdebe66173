import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { timestampToMillis, type Db } from '@koban/platform';
import {
  createTestDatabase,
  domainErrorOf,
  eventually,
  flushKeys,
  serveFraud,
  testKeyPrefix,
  uniqueId,
  uniqueIp,
  unreachableRedisUrl,
  type FraudClient,
  type FraudUnderTest,
} from './support/fraud-harness.js';

type Result = NonNullable<Parameters<FraudClient['recordCardCheck']>[0]['result']>;
const WRONG_CVC: Result = 'CARD_CHECK_RESULT_WRONG_CVC';
const minute = 60_000;

/** A card check of fresh subjects unless told otherwise. */
function check(
  overrides: { userId?: string; cardFingerprint?: string; clientIp?: string; result?: Result } = {},
) {
  return {
    userId: uniqueId('user'),
    cardFingerprint: uniqueId('fp'),
    clientIp: '',
    result: WRONG_CVC,
    ...overrides,
  };
}

/** `times` card checks one after the other; the state after the last. */
async function record(client: FraudClient, times: number, make: () => ReturnType<typeof check>) {
  let state;
  for (let n = 0; n < times; n += 1) state = (await client.recordCardCheck(make())).state;
  return state;
}

void describe('card-check lockouts over gRPC, against MariaDB and Redis', () => {
  let schema: { db: Db; drop(): Promise<void> };
  let db: Db;
  const keyPrefix = testKeyPrefix();
  let fraud: FraudUnderTest;
  let client: FraudClient;

  before(async () => {
    schema = await createTestDatabase();
    db = schema.db;
    fraud = await serveFraud({ db, keyPrefix });
    client = fraud.client;
  });

  after(async () => {
    try {
      await fraud?.close();
    } finally {
      await schema?.drop();
    }
  });

  const lockRows = (type: string, key: string) =>
    db.query('SELECT locked_until, reason FROM lockouts WHERE subject_type = ? AND subject_key = ?', [
      type,
      key,
    ]);

  void it('locks a user at the fifth wrong CVC within the hour, and not at the fourth', async () => {
    const userId = uniqueId('user');
    // A new card each time: only the user's counter reaches five.
    const fourth = await record(client, 4, () => check({ userId }));
    assert.deepEqual(
      { locked: fourth?.user?.locked, failures: fourth?.user?.failures, threshold: fourth?.user?.threshold },
      { locked: false, failures: 4, threshold: 5 },
    );
    assert.equal(fourth?.user?.lockedUntil, null);
    assert.equal((await client.getLockoutState({ userId })).state?.user?.locked, false);

    const fifth = await record(client, 1, () => check({ userId }));
    assert.equal(fifth?.user?.locked, true);
    assert.equal(fifth?.user?.failures, 5);
    assert.equal(fifth?.card?.locked, false);
    const state = (await client.getLockoutState({ userId })).state;
    assert.equal(state?.user?.locked, true);
    assert.deepEqual(state?.user?.lockedUntil, fifth?.user?.lockedUntil);
    assert.deepEqual(
      (await lockRows('user', userId)).map((row) => row['reason'] as unknown),
      ['cvc_failures'],
    );
  });

  void it('counts declines, expired and invalid cards toward the IP throttle only, throttling the 31st failure', async () => {
    const userId = uniqueId('user');
    const cardFingerprint = uniqueId('fp');
    const clientIp = uniqueIp();
    const results: Result[] = [
      'CARD_CHECK_RESULT_DECLINED',
      'CARD_CHECK_RESULT_EXPIRED',
      'CARD_CHECK_RESULT_INVALID_NUMBER',
    ];
    let n = 0;
    const thirtieth = await record(client, 30, () =>
      check({ userId, cardFingerprint, clientIp, result: results[n++ % results.length] ?? WRONG_CVC }),
    );
    assert.deepEqual(
      {
        user: thirtieth?.user?.failures,
        card: thirtieth?.card?.failures,
        ip: thirtieth?.clientIp?.failures,
        ipLocked: thirtieth?.clientIp?.locked,
        threshold: thirtieth?.clientIp?.threshold,
      },
      { user: 0, card: 0, ip: 30, ipLocked: false, threshold: 31 },
    );
    // Approvals count for nothing.
    await record(client, 3, () =>
      check({ userId, cardFingerprint, clientIp, result: 'CARD_CHECK_RESULT_APPROVED' }),
    );

    const thirtyFirst = await record(client, 1, () =>
      check({ userId, cardFingerprint, clientIp, result: 'CARD_CHECK_RESULT_DECLINED' }),
    );
    assert.equal(thirtyFirst?.clientIp?.locked, true);
    assert.equal(thirtyFirst?.clientIp?.failures, 31);
    assert.equal(thirtyFirst?.user?.locked, false);
    assert.equal(thirtyFirst?.card?.locked, false);
    // The throttle is the IP's: another user and card from it are throttled, the same user elsewhere is not.
    const fromIp = (await client.getLockoutState({ userId: uniqueId('user'), clientIp })).state;
    assert.equal(fromIp?.clientIp?.locked, true);
    const elsewhere = (await client.getLockoutState({ userId, cardFingerprint, clientIp: uniqueIp() })).state;
    assert.deepEqual(
      [elsewhere?.user?.locked, elsewhere?.card?.locked, elsewhere?.clientIp?.locked],
      [false, false, false],
    );
  });

  void it('locks a card at its fifth wrong CVC across users, for every user', async () => {
    const cardFingerprint = uniqueId('fp');
    const fifth = await record(client, 5, () => check({ cardFingerprint }));
    assert.equal(fifth?.card?.locked, true);
    assert.equal(fifth?.card?.failures, 5);
    assert.equal(fifth?.user?.locked, false);
    assert.equal(fifth?.user?.failures, 1);
    const anyone = (await client.getLockoutState({ userId: uniqueId('user'), cardFingerprint })).state;
    assert.equal(anyone?.card?.locked, true);
    assert.equal(anyone?.user?.locked, false);
  });

  void it('declines card payments of a locked user and with a locked card, and flags the wallet payments of a locked user', async () => {
    const userId = uniqueId('user');
    const cardFingerprint = uniqueId('fp');
    await record(client, 5, () => check({ userId, cardFingerprint }));
    const pay = (overrides: Record<string, string>) =>
      client.score({
        paymentId: uniqueId('pay'),
        userId,
        merchantId: 'merchant-1',
        amount: '1500',
        currency: 'JPY',
        method: 'PAYMENT_METHOD_CARD',
        cardFingerprint: uniqueId('fp'),
        ...overrides,
      });

    const byUser = await pay({});
    assert.equal(byUser.decision, 'DECISION_DECLINE');
    assert.deepEqual(byUser.reasons, ['user_locked']);
    assert.equal(byUser.features?.userCvcFailuresLastHour, '5');

    const withCard = await pay({ userId: uniqueId('user'), cardFingerprint });
    assert.equal(withCard.decision, 'DECISION_DECLINE');
    assert.deepEqual(withCard.reasons, ['card_locked']);

    const wallet = await pay({ method: 'PAYMENT_METHOD_WALLET', cardFingerprint: '' });
    assert.equal(wallet.decision, 'DECISION_ALLOW');
    assert.deepEqual(wallet.reasons, ['user_locked']);
    assert.ok(wallet.score >= 500);
  });

  void it('locks once when wrong CVCs arrive at the same time', async () => {
    const userId = uniqueId('user');
    const cardFingerprint = uniqueId('fp');
    const states = await Promise.all(
      Array.from({ length: 12 }, () => client.recordCardCheck(check({ userId, cardFingerprint }))),
    );
    const locks = new Set(
      states
        .filter((s) => s.state?.user?.locked)
        .map((s) => timestampToMillis(s.state?.user?.lockedUntil ?? {})),
    );
    assert.equal(locks.size, 1, `lock ends: ${[...locks].join(', ')}`);
    assert.equal((await lockRows('user', userId)).length, 1);
    assert.equal((await lockRows('card', cardFingerprint)).length, 1);
    assert.equal((await client.getLockoutState({ userId })).state?.user?.failures, 12);
  });

  void it('refuses a request without a user or a result, or with a card number for a fingerprint', async () => {
    const noUser = await domainErrorOf(client.recordCardCheck(check({ userId: '' })));
    assert.equal(noUser.code, 'invalid_request');
    assert.equal(noUser.status, 3);
    assert.deepEqual(noUser.details?.['fields'], { userId: 'required' });

    const noResult = await domainErrorOf(
      client.recordCardCheck(check({ result: 'CARD_CHECK_RESULT_UNSPECIFIED' })),
    );
    assert.deepEqual(noResult.details?.['fields'], { result: 'required' });

    const pan = await domainErrorOf(
      client.getLockoutState({ userId: 'u', cardFingerprint: '4111111111111111' }),
    );
    assert.deepEqual(pan.details?.['fields'], {
      cardFingerprint: 'must be a card fingerprint, never a card number',
    });
    // Refused before anything is stored or logged.
    assert.equal(
      (await db.query("SELECT 1 FROM card_check_failures WHERE subject_key LIKE '4111%'")).length,
      0,
    );
    assert.ok(!JSON.stringify(fraud.logs).includes('4111111111111111'));
  });
});

void describe('lock timing, durability and configuration', () => {
  let schema: { db: Db; drop(): Promise<void> };
  let db: Db;
  const keyPrefix = testKeyPrefix();

  before(async () => {
    schema = await createTestDatabase();
    db = schema.db;
  });

  after(async () => {
    await schema?.drop();
  });

  void it('ends the lock 30 minutes after the fifth failure, which later failures do not extend', async () => {
    let nowMs = Date.parse('2030-01-01T00:00:00.000Z');
    const fraud = await serveFraud({ db, keyPrefix, now: () => nowMs });
    try {
      const userId = uniqueId('user');
      for (let n = 0; n < 4; n += 1) {
        await fraud.client.recordCardCheck(check({ userId }));
        nowMs += 10 * minute;
      }
      // The fifth, at 00:40.
      const fifth = (await fraud.client.recordCardCheck(check({ userId }))).state?.user;
      assert.equal(fifth?.locked, true);
      assert.equal(timestampToMillis(fifth?.lockedUntil ?? {}), Date.parse('2030-01-01T01:10:00.000Z'));

      nowMs += 5 * minute;
      const sixth = (await fraud.client.recordCardCheck(check({ userId }))).state?.user;
      assert.equal(timestampToMillis(sixth?.lockedUntil ?? {}), Date.parse('2030-01-01T01:10:00.000Z'));

      nowMs = Date.parse('2030-01-01T01:09:59.999Z');
      assert.equal((await fraud.client.getLockoutState({ userId })).state?.user?.locked, true);
      nowMs = Date.parse('2030-01-01T01:10:00.000Z');
      assert.equal((await fraud.client.getLockoutState({ userId })).state?.user?.locked, false);

      // Failures older than the hour have left the window: the first (00:00) and second (00:10).
      nowMs = Date.parse('2030-01-01T01:15:00.000Z');
      assert.equal((await fraud.client.getLockoutState({ userId })).state?.user?.failures, 4);
    } finally {
      await fraud.close();
    }
  });

  void it('keeps a lock across a restart of the service and a flush of its Redis keys', async () => {
    const userId = uniqueId('user');
    const cardFingerprint = uniqueId('fp');
    const clientIp = uniqueIp();
    const first = await serveFraud({ db, keyPrefix, env: { IP_THROTTLE_FAILURES: '4' } });
    let locked;
    try {
      locked = await record(first.client, 5, () => check({ userId, cardFingerprint, clientIp }));
      assert.deepEqual(
        [locked?.user?.locked, locked?.card?.locked, locked?.clientIp?.locked],
        [true, true, true],
      );
    } finally {
      await first.close();
    }

    const restarted = await serveFraud({ db, keyPrefix, env: { IP_THROTTLE_FAILURES: '4' } });
    try {
      assert.ok((await flushKeys(restarted.redis, keyPrefix)) > 0, 'the flush deleted keys');
      const state = (await restarted.client.getLockoutState({ userId, cardFingerprint, clientIp })).state;
      assert.deepEqual(
        [state?.user?.locked, state?.card?.locked, state?.clientIp?.locked],
        [true, true, true],
      );
      assert.deepEqual(state?.user?.lockedUntil, locked?.user?.lockedUntil);
      assert.deepEqual(state?.clientIp?.lockedUntil, locked?.clientIp?.lockedUntil);
      // Redis learnt the locks back from the database.
      assert.ok(await restarted.redis.exists(`${keyPrefix}lock:user:${userId}`));
    } finally {
      await restarted.close();
    }
  });

  void it('answers locks from the database and counts wrong CVCs there while Redis is down', async () => {
    const healthy = await serveFraud({ db, keyPrefix });
    const down = await serveFraud({ db, keyPrefix, redisUrl: unreachableRedisUrl });
    try {
      const lockedUser = uniqueId('user');
      await record(healthy.client, 5, () => check({ userId: lockedUser }));
      const state = (await down.client.getLockoutState({ userId: lockedUser })).state;
      assert.equal(state?.user?.locked, true, 'Redis down never unlocks');
      assert.equal(state?.user?.failures, 5);

      // Three wrong CVCs during the outage, two once Redis is back: the fifth locks.
      const userId = uniqueId('user');
      const during = await record(down.client, 3, () => check({ userId }));
      assert.equal(during?.user?.failures, 3);
      const fourth = await record(healthy.client, 1, () => check({ userId }));
      assert.equal(fourth?.user?.failures, 4);
      assert.equal(fourth?.user?.locked, false);
      const fifth = await record(healthy.client, 1, () => check({ userId }));
      assert.equal(fifth?.user?.locked, true);

      // And during the outage alone, five lock too.
      const aloneUser = uniqueId('user');
      const alone = await record(down.client, 5, () => check({ userId: aloneUser }));
      assert.equal(alone?.user?.locked, true);
      assert.equal(
        down.logs.filter((line) => line.component === 'lockout-counters' && line.level === 'warn').length,
        1,
        'the outage is logged once',
      );
      // Its Redis commands went through the fraud→redis policy, whose breaker opened.
      assert.ok(down.redisPolicy.snapshot().trips >= 1, JSON.stringify(down.redisPolicy.snapshot()));
      assert.equal(healthy.redisPolicy.snapshot().trips, 0);
    } finally {
      await down.close();
      await healthy.close();
    }
  });

  void it('lets a lock expire on time', async () => {
    const fraud = await serveFraud({
      db,
      keyPrefix,
      env: { LOCKOUT_DURATION_SECONDS: '1', LOCKOUT_WINDOW_SECONDS: '2', IP_THROTTLE_DURATION_SECONDS: '1' },
    });
    try {
      const userId = uniqueId('user');
      const clientIp = uniqueIp();
      const fifth = (await record(fraud.client, 5, () => check({ userId, clientIp })))?.user;
      assert.equal(fifth?.locked, true);
      const lockedUntilMs = timestampToMillis(fifth?.lockedUntil ?? {});
      const unlocked = await eventually(async () => {
        const user = (await fraud.client.getLockoutState({ userId })).state?.user;
        assert.equal(user?.locked, false);
        return Date.now();
      }, 5_000);
      assert.ok(unlocked >= lockedUntilMs, `unlocked ${unlocked - lockedUntilMs} ms after the end`);
      // The window (2 s) empties too.
      await delay(Math.max(0, lockedUntilMs + 1_100 - Date.now()));
      assert.equal((await fraud.client.getLockoutState({ userId })).state?.user?.failures, 0);
    } finally {
      await fraud.close();
    }
  });

  void it('never locks with LOCKOUT_ENABLED=false, still counting', async () => {
    const fraud = await serveFraud({ db, keyPrefix, env: { LOCKOUT_ENABLED: 'false' } });
    try {
      const userId = uniqueId('user');
      const cardFingerprint = uniqueId('fp');
      const clientIp = uniqueIp();
      const state = await record(fraud.client, 40, () => check({ userId, cardFingerprint, clientIp }));
      assert.deepEqual(
        [state?.user?.locked, state?.card?.locked, state?.clientIp?.locked],
        [false, false, false],
      );
      assert.deepEqual(
        [state?.user?.failures, state?.card?.failures, state?.clientIp?.failures],
        [40, 40, 40],
      );
      assert.equal(
        (
          await db.query('SELECT 1 FROM lockouts WHERE subject_key IN (?, ?, ?)', [
            userId,
            cardFingerprint,
            clientIp,
          ])
        ).length,
        0,
      );
      const payment = await fraud.client.score({
        paymentId: uniqueId('pay'),
        userId,
        merchantId: 'merchant-1',
        amount: '1500',
        currency: 'JPY',
        method: 'PAYMENT_METHOD_CARD',
        cardFingerprint,
      });
      assert.equal(payment.decision, 'DECISION_ALLOW');
    } finally {
      await fraud.close();
    }
  });
});
