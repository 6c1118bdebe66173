import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * The card vault: card numbers (PANs) encrypted with AES-256-GCM under a versioned key, and a
 * keyed fingerprint to recognise one card across users. Pure crypto, no I/O: the card store
 * keeps what `seal` answers, never the number itself.
 */

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Vault keys by id: `CARD_VAULT_KEYS` parsed. */
export type VaultKeys = ReadonlyMap<string, Buffer>;

/**
 * Parses `v1:<base64 of 32 bytes>,v2:<base64 of 32 bytes>` into keys by id. Throws an Error
 * saying what is wrong (never quoting a key) for a malformed entry, a key that is not 32 bytes,
 * or an id given twice.
 */
export function parseVaultKeys(text: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new Error('expected at least one key as <id>:<base64 of 32 bytes>');
  for (const [index, entry] of entries.entries()) {
    const separator = entry.indexOf(':');
    const id = separator < 0 ? '' : entry.slice(0, separator);
    const encoded = separator < 0 ? '' : entry.slice(separator + 1);
    if (!KEY_ID.test(id)) {
      throw new Error(
        `entry ${index + 1}: expected <id>:<base64>, the id of 1 to 32 letters, digits, - or _`,
      );
    }
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error(`key ${id}: not base64`);
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== KEY_BYTES) throw new Error(`key ${id}: must decode to ${KEY_BYTES} bytes`);
    if (keys.has(id)) throw new Error(`key ${id}: given twice`);
    keys.set(id, key);
  }
  return keys;
}

/** A PAN as the vault stores it: the key it was sealed under goes with the ciphertext. */
export interface SealedPan {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export interface CardVault {
  /** The id of the key new cards are sealed under (`CARD_VAULT_ACTIVE_KEY`). */
  readonly activeKeyId: string;
  /** Encrypts a PAN under the active key, bound to its card id (the GCM additional data). */
  seal(pan: string, cardId: string): SealedPan;
  /**
   * Decrypts a sealed PAN with the key it names, whichever key is active now. Throws when the
   * key is unknown or the ciphertext, tag or card id do not match (tampered or swapped rows).
   */
  open(sealed: SealedPan, cardId: string): string;
  /** HMAC-SHA256 of the PAN under the fingerprint secret, hex: equal for one card across users. */
  fingerprint(pan: string): string;
}

export interface CardVaultSettings {
  keys: VaultKeys;
  activeKeyId: string;
  /** `CARD_FINGERPRINT_SECRET`. */
  fingerprintSecret: string;
}

const additionalData = (cardId: string): Buffer => Buffer.from(`koban-card:${cardId}`, 'utf8');

export function createCardVault(settings: CardVaultSettings): CardVault {
  const activeKey = settings.keys.get(settings.activeKeyId);
  if (activeKey === undefined)
    throw new Error(`the active vault key ${settings.activeKeyId} is not a known key`);
  const keyFor = (keyId: string): Buffer => {
    const key = settings.keys.get(keyId);
    if (key === undefined) throw new Error(`card sealed under vault key ${keyId}, which is not configured`);
    return key;
  };

  return {
    activeKeyId: settings.activeKeyId,

    seal(pan, cardId) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv(ALGORITHM, activeKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(additionalData(cardId));
      const ciphertext = Buffer.concat([cipher.update(pan, 'utf8'), cipher.final()]);
      return { keyId: settings.activeKeyId, iv, ciphertext, tag: cipher.getAuthTag() };
    },

    open(sealed, cardId) {
      const decipher = createDecipheriv(ALGORITHM, keyFor(sealed.keyId), sealed.iv, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(additionalData(cardId));
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    },

    fingerprint: (pan) => createHmac('sha256', settings.fingerprintSecret).update(pan, 'utf8').digest('hex'),
  };
}
