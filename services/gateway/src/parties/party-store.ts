import type { Db } from '@koban/platform';
import type { Merchant, StoredParty, User } from './party.js';

/** The parties and the hashes of their credentials, in the gateway's schema. */
export interface PartyStore {
  /** Writes the user and its token's hash together. */
  insertUser(user: User, tokenHash: string): Promise<void>;
  /** Writes the merchant and its API key's hash together. */
  insertMerchant(merchant: Merchant, apiKeyHash: string): Promise<void>;
  findUser(userId: string): Promise<User | undefined>;
  findMerchant(merchantId: string): Promise<Merchant | undefined>;
  /** The party a credential hash belongs to. */
  findByCredentialHash(hash: string): Promise<StoredParty | undefined>;
}

interface UserRow {
  id: string;
  display_name: string;
  wallet_account_id: string;
  points_account_id: string;
  created_at: Date;
}

interface MerchantRow {
  id: string;
  name: string;
  mcc: string;
  account_id: string;
  created_at: Date;
}

interface CredentialRow {
  party_type: string;
  u_id: string | null;
  u_display_name: string;
  u_wallet_account_id: string;
  u_points_account_id: string;
  u_created_at: Date;
  m_id: string | null;
  m_name: string;
  m_mcc: string;
  m_account_id: string;
  m_created_at: Date;
}

const toUser = (row: UserRow): User => ({
  userId: row.id,
  displayName: row.display_name,
  walletAccountId: row.wallet_account_id,
  pointsAccountId: row.points_account_id,
  createdAt: row.created_at,
});

const toMerchant = (row: MerchantRow): Merchant => ({
  merchantId: row.id,
  name: row.name,
  mcc: row.mcc,
  accountId: row.account_id,
  createdAt: row.created_at,
});

export function createPartyStore(db: Db): PartyStore {
  // Rows are shaped by the SELECTs below; the casts name those shapes.
  const select = async <Row>(sql: string, params: unknown[]): Promise<Row[]> =>
    (await db.query(sql, params)) as unknown as Row[];

  return {
    async insertUser(user, tokenHash) {
      await db.transaction(
        async (conn) => {
          await conn.query(
            `INSERT INTO users (id, display_name, wallet_account_id, points_account_id, created_at)
             VALUES (?, ?, ?, ?, ?)`,
            [user.userId, user.displayName, user.walletAccountId, user.pointsAccountId, user.createdAt],
          );
          await conn.query(
            'INSERT INTO credentials (token_hash, party_type, party_id, created_at) VALUES (?, ?, ?, ?)',
            [tokenHash, 'user', user.userId, user.createdAt],
          );
        },
        { label: 'gateway.insert_user' },
      );
    },

    async insertMerchant(merchant, apiKeyHash) {
      await db.transaction(
        async (conn) => {
          await conn.query(
            'INSERT INTO merchants (id, name, mcc, account_id, created_at) VALUES (?, ?, ?, ?, ?)',
            [merchant.merchantId, merchant.name, merchant.mcc, merchant.accountId, merchant.createdAt],
          );
          await conn.query(
            'INSERT INTO credentials (token_hash, party_type, party_id, created_at) VALUES (?, ?, ?, ?)',
            [apiKeyHash, 'merchant', merchant.merchantId, merchant.createdAt],
          );
        },
        { label: 'gateway.insert_merchant' },
      );
    },

    async findUser(userId) {
      const [row] = await select<UserRow>(
        'SELECT id, display_name, wallet_account_id, points_account_id, created_at FROM users WHERE id = ?',
        [userId],
      );
      return row && toUser(row);
    },

    async findMerchant(merchantId) {
      const [row] = await select<MerchantRow>(
        'SELECT id, name, mcc, account_id, created_at FROM merchants WHERE id = ?',
        [merchantId],
      );
      return row && toMerchant(row);
    },

    async findByCredentialHash(hash) {
      const [row] = await select<CredentialRow>(
        `SELECT c.party_type,
                u.id AS u_id, u.display_name AS u_display_name, u.wallet_account_id AS u_wallet_account_id,
                u.points_account_id AS u_points_account_id, u.created_at AS u_created_at,
                m.id AS m_id, m.name AS m_name, m.mcc AS m_mcc, m.account_id AS m_account_id,
                m.created_at AS m_created_at
           FROM credentials c
           LEFT JOIN users u ON c.party_type = 'user' AND u.id = c.party_id
           LEFT JOIN merchants m ON c.party_type = 'merchant' AND m.id = c.party_id
          WHERE c.token_hash = ?`,
        [hash],
      );
      if (row?.u_id) {
        return {
          kind: 'user',
          user: toUser({
            id: row.u_id,
            display_name: row.u_display_name,
            wallet_account_id: row.u_wallet_account_id,
            points_account_id: row.u_points_account_id,
            created_at: row.u_created_at,
          }),
        };
      }
      if (row?.m_id) {
        return {
          kind: 'merchant',
          merchant: toMerchant({
            id: row.m_id,
            name: row.m_name,
            mcc: row.m_mcc,
            account_id: row.m_account_id,
            created_at: row.m_created_at,
          }),
        };
      }
      return undefined;
    },
  };
}
