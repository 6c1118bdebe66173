import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCardVault, parseVaultKeys, type SealedPan } from './card-vault.js';

const pan = '4111111111111111';
const key = () => randomBytes(32);

void describe('card vault encryption', () => {
  const v1 = key();
  const v2 = key();
  const vaultV1 = createCardVault({
    keys: new Map([['v1', v1]]),
    activeKeyId: 'v1',
    fingerprintSecret: 'f'.repeat(32),
  });

  void it('round-trips a PAN, naming the key it was sealed under, and never holds it in the clear', () => {
    const sealed = vaultV1.seal(pan, 'card_1');
    assert.equal(sealed.keyId, 'v1');
    assert.equal(sealed.iv.length, 12);
    assert.equal(sealed.tag.length, 16);
    assert.equal(sealed.ciphertext.includes(Buffer.from(pan)), false);
    assert.equal(vaultV1.open(sealed, 'card_1'), pan);
  });

  void it('uses a fresh IV for every seal, so one number never gives the same ciphertext twice', () => {
    const a = vaultV1.seal(pan, 'card_1');
    const b = vaultV1.seal(pan, 'card_1');
    assert.notDeepEqual(a.iv, b.iv);
    assert.notDeepEqual(a.ciphertext, b.ciphertext);
  });

  void it('opens a card sealed under v1 after v2 becomes the active key, and seals new cards under v2', () => {
    const sealedUnderV1 = vaultV1.seal(pan, 'card_old');
    const rotated = createCardVault({
      keys: new Map([
        ['v1', v1],
        ['v2', v2],
      ]),
      activeKeyId: 'v2',
      fingerprintSecret: 'f'.repeat(32),
    });
    assert.equal(rotated.open(sealedUnderV1, 'card_old'), pan);
    const sealedUnderV2 = rotated.seal(pan, 'card_new');
    assert.equal(sealedUnderV2.keyId, 'v2');
    assert.equal(rotated.open(sealedUnderV2, 'card_new'), pan);
    // v1 alone cannot open what v2 sealed: the key id travels with the ciphertext for a reason.
    assert.throws(() => vaultV1.open(sealedUnderV2, 'card_new'), /v2, which is not configured/);
  });

  void it('refuses a tampered ciphertext, a wrong tag, and a ciphertext moved to another card', () => {
    const sealed = vaultV1.seal(pan, 'card_1');
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const tampered: SealedPan = { ...sealed, ciphertext: flipped };
    assert.throws(() => vaultV1.open(tampered, 'card_1'));
    assert.throws(() => vaultV1.open({ ...sealed, tag: randomBytes(16) }, 'card_1'));
    assert.throws(() => vaultV1.open(sealed, 'card_2'));
  });

  void it('refuses an active key that is not among the keys', () => {
    assert.throws(
      () =>
        createCardVault({
          keys: new Map([['v1', v1]]),
          activeKeyId: 'v9',
          fingerprintSecret: 'x'.repeat(32),
        }),
      /v9 is not a known key/,
    );
  });
});

void describe('card fingerprints', () => {
  const vault = (secret: string) =>
    createCardVault({ keys: new Map([['v1', key()]]), activeKeyId: 'v1', fingerprintSecret: secret });

  void it('are stable for one number whatever the vault key or the user, and differ between numbers', () => {
    const a = vault('fingerprint-secret-one-0123456789');
    const b = vault('fingerprint-secret-one-0123456789');
    assert.equal(a.fingerprint(pan), b.fingerprint(pan));
    assert.match(a.fingerprint(pan), /^[0-9a-f]{64}$/);
    assert.notEqual(a.fingerprint(pan), a.fingerprint('5555555555554444'));
    assert.equal(a.fingerprint(pan).includes(pan), false);
  });

  void it('depend on the secret, so a fingerprint cannot be recomputed from the number alone', () => {
    assert.notEqual(
      vault('fingerprint-secret-one-0123456789').fingerprint(pan),
      vault('fingerprint-secret-two-0123456789').fingerprint(pan),
    );
  });
});

void describe('vault key configuration', () => {
  const b64 = () => key().toString('base64');

  void it('parses versioned keys in order', () => {
    const keys = parseVaultKeys(`v1:${b64()}, v2:${b64()}`);
    assert.deepEqual([...keys.keys()], ['v1', 'v2']);
    assert.equal(keys.get('v2')?.length, 32);
  });

  void it('refuses short keys, missing ids, bad base64 and duplicate ids without quoting the key', () => {
    const short = randomBytes(16).toString('base64');
    assert.throws(
      () => parseVaultKeys(`v1:${short}`),
      (error: Error) => {
        assert.match(error.message, /v1: must decode to 32 bytes/);
        assert.equal(error.message.includes(short), false);
        return true;
      },
    );
    assert.throws(() => parseVaultKeys(b64()), /expected <id>:<base64>/);
    assert.throws(() => parseVaultKeys('v1:not*base64'), /not base64/);
    const same = b64();
    assert.throws(() => parseVaultKeys(`v1:${same},v1:${same}`), /given twice/);
    assert.throws(() => parseVaultKeys(' , '), /at least one key/);
  });
});
