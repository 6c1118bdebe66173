import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseVaultKeys } from '../src/vault/card-vault.js';
import { cvcOf, future, randomCardNumber, wrongCvcOf } from './support/cards.js';
import { newChargeId, newUserId, startHarness, type Harness } from './support/bank-harness.js';
import { freshDatabase } from './support/test-database.js';

const key = () => randomBytes(32).toString('base64');

/** Every value of every column of every table of the harness's schema, as text (binary in every encoding). */
async function everyStoredValue(h: Harness): Promise<Array<{ table: string; column: string; text: string }>> {
  const columns = await h.rows(
    'SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = ?',
    [h.database.name],
  );
  const tables = [...new Set(columns.map((row) => String(row['t'])))];
  assert.ok(tables.includes('cards') && tables.includes('charges'), `tables: ${tables.join(', ')}`);
  const values: Array<{ table: string; column: string; text: string }> = [];
  for (const table of tables) {
    for (const row of await h.rows(`SELECT * FROM \`${table}\``)) {
      for (const [column, value] of Object.entries(row)) {
        const texts = Buffer.isBuffer(value)
          ? [
              value.toString('utf8'),
              value.toString('latin1'),
              value.toString('hex'),
              value.toString('base64'),
            ]
          : [value instanceof Date ? value.toISOString() : String(value)];
        for (const text of texts) values.push({ table, column, text });
      }
    }
  }
  return values;
}

/**
 * Whether a text holds a card number or any 8 consecutive digits of it: more than the last four
 * digits an answer may show (and too long to turn up in an id or a hex string by chance).
 */
function holdsPanDigits(text: string, pan: string): boolean {
  for (let start = 0; start + 8 <= pan.length; start++) {
    if (text.includes(pan.slice(start, start + 8))) return true;
  }
  return false;
}

/** Every string anywhere in a parsed log line or request. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}

void describe('the card vault', { timeout: 60_000 }, () => {
  void it('stores nothing of a card but its brand, last four, fingerprint and ciphertext: no table, log line or fraud call holds a PAN or CVC', async () => {
    const h = await startHarness();
    try {
      const pans = ['4111111111111111', '5555555555554444', randomCardNumber('35')];
      const cvcs = pans.map(cvcOf);
      const userId = newUserId();
      for (const pan of pans) {
        // A failed attempt first (its CVC is a wrong one, also never to be kept), then the real one.
        await assert.rejects(
          h.client.registerCard({
            userId,
            number: pan,
            cvc: wrongCvcOf(pan),
            clientIp: '192.0.2.1',
            ...future,
          }),
          { code: 'invalid_cvc' },
        );
        const { card } = await h.client.registerCard({
          userId,
          number: pan,
          cvc: cvcOf(pan),
          clientIp: '192.0.2.1',
          ...future,
        });
        assert.ok(card);
        await h.client.createCharge({
          chargeId: newChargeId(),
          userId,
          amount: '1000',
          currency: 'JPY',
          cardId: card.cardId,
          purpose: 'CHARGE_PURPOSE_PAYMENT',
          clientIp: '192.0.2.1',
        });
      }
      await assert.rejects(
        h.client.registerCard({
          userId,
          number: '4000000000000002',
          cvc: '123',
          clientIp: '192.0.2.1',
          ...future,
        }),
        { code: 'card_declined' },
      );
      const allPans = [...pans, '4000000000000002'];
      const allCvcs = [...cvcs, ...pans.map(wrongCvcOf)];

      const stored = await everyStoredValue(h);
      for (const pan of allPans) {
        // Not the number, nor more of it than the last four digits, in any encoding.
        const leaks = stored.filter(({ text }) => holdsPanDigits(text, pan));
        assert.deepEqual(leaks, [], `PAN ending ${pan.slice(-4)} found in the database`);
      }
      for (const cvc of allCvcs) {
        assert.deepEqual(
          stored.filter(({ text }) => text === cvc),
          [],
          `a CVC found as a stored value`,
        );
      }
      const columns = [...new Set(stored.map(({ table, column }) => `${table}.${column}`))];
      assert.deepEqual(
        columns.filter((column) => /cvc|cvv|security|card_number|\.pan$|\.number$/.test(column)),
        [],
      );
      const cardColumns = columns.filter((column) => column.startsWith('cards.')).sort();
      assert.deepEqual(cardColumns, [
        'cards.brand',
        'cards.card_id',
        'cards.created_at',
        'cards.exp_month',
        'cards.exp_year',
        'cards.fingerprint',
        'cards.last4',
        'cards.pan_ciphertext',
        'cards.pan_iv',
        'cards.pan_key_id',
        'cards.pan_tag',
        'cards.updated_at',
        'cards.user_id',
      ]);

      assert.ok(h.logs.length > 0, 'the service logged nothing at debug level');
      const logged = h.logs.flatMap(stringsIn);
      const sentToFraud = [...h.fraud.stateCalls, ...h.fraud.recorded].flatMap(stringsIn);
      for (const [where, strings] of [
        ['logs', logged],
        ['fraud calls', sentToFraud],
      ] as const) {
        for (const pan of allPans) {
          assert.equal(
            strings.some((text) => holdsPanDigits(text, pan)),
            false,
            `PAN in ${where}`,
          );
        }
        for (const cvc of allCvcs) assert.equal(strings.includes(cvc), false, `CVC in ${where}`);
      }
    } finally {
      await h.close();
    }
  });

  void it('charges a card sealed under v1 after v2 becomes active, re-sealing it under v2 on the way', async () => {
    const database = await freshDatabase();
    const v1 = key();
    const v2 = key();
    const pan = randomCardNumber();
    const userId = newUserId();
    const charge = (h: Harness, cardId: string) =>
      h.client.createCharge({
        chargeId: newChargeId(),
        userId,
        amount: '1200',
        currency: 'JPY',
        cardId,
        purpose: 'CHARGE_PURPOSE_TOPUP',
        clientIp: '',
      });
    const keyOf = async (h: Harness, cardId: string) =>
      (await h.rows('SELECT pan_key_id FROM cards WHERE card_id = ?', [cardId]))[0]?.['pan_key_id'];

    /** A harness on the shared schema, closed (keeping the schema) whatever the check does. */
    const withHarness = async (
      vault: string,
      active: string | undefined,
      check: (h: Harness) => Promise<void>,
    ) => {
      const h = await startHarness({
        database,
        config: { CARD_VAULT_KEYS: parseVaultKeys(vault), CARD_VAULT_ACTIVE_KEY: active },
      });
      try {
        await check(h);
      } finally {
        await h.close({ keepDatabase: true });
      }
    };

    try {
      let cardId = '';
      await withHarness(`v1:${v1}`, undefined, async (h) => {
        const { card } = await h.client.registerCard({
          userId,
          number: pan,
          cvc: cvcOf(pan),
          clientIp: '',
          ...future,
        });
        cardId = card?.cardId ?? assert.fail('no card');
        assert.equal(await keyOf(h, cardId), 'v1');
      });
      await withHarness(`v1:${v1},v2:${v2}`, 'v2', async (h) => {
        assert.equal((await charge(h, cardId)).charge?.status, 'CHARGE_STATUS_APPROVED');
        assert.equal(await keyOf(h, cardId), 'v2');
      });
      // v1 can now be retired: the card opens under v2 alone.
      await withHarness(`v2:${v2}`, undefined, async (h) => {
        assert.equal((await charge(h, cardId)).charge?.status, 'CHARGE_STATUS_APPROVED');
      });
    } finally {
      await database.drop();
    }
  });
});
