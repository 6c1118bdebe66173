import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DomainError,
  createGrpcClient,
  createGrpcServer,
  createLogger,
  loadProtos,
  type GrpcServer,
} from '@koban/platform';
import { hashCredential } from '../src/parties/party.js';
import { partyErrorStatus, partyGrpcHandlers } from '../src/parties/party-grpc.js';
import {
  ADMIN_TOKEN,
  call,
  createMerchant,
  createUser,
  startGateway,
  type ErrorBody,
  type Gateway,
} from './harness.js';

describe('parties', { timeout: 60_000 }, () => {
  let gateway: Gateway;
  before(async () => {
    gateway = await startGateway();
  });
  after(() => gateway.close());

  describe('POST /v1/users', () => {
    it('creates a user with a wallet and a points account in the ledger and a token shown once', async () => {
      const response = await call<{
        userId: string;
        token: string;
        walletAccountId: string;
        pointsAccountId: string;
      }>(gateway, 'POST', '/v1/users', { body: { displayName: 'Alice' } });
      assert.equal(response.status, 201);
      const { userId, token, walletAccountId, pointsAccountId } = response.body;
      assert.match(userId, /^usr_[0-9a-f]{32}$/);
      assert.match(token, /^kbt_[A-Za-z0-9_-]{43}$/);
      const wallet = gateway.book.accounts.get(walletAccountId);
      assert.deepEqual(
        { owner: wallet?.ownerId, type: wallet?.ownerType, kind: wallet?.kind, currency: wallet?.currency },
        { owner: userId, type: 'OWNER_TYPE_USER', kind: 'ACCOUNT_KIND_WALLET', currency: 'JPY' },
      );
      const points = gateway.book.accounts.get(pointsAccountId);
      assert.deepEqual(
        [points?.ownerId, points?.kind, points?.currency],
        [userId, 'ACCOUNT_KIND_POINTS', 'POINTS'],
      );
    });

    it('stores only the SHA-256 of the token', async () => {
      const user = await createUser(gateway);
      const rows = (await gateway.db.query(
        'SELECT token_hash, party_type, party_id FROM credentials WHERE party_id = ?',
        [user.userId],
      )) as unknown as Array<{ token_hash: string; party_type: string }>;
      assert.deepEqual(rows, [
        { token_hash: hashCredential(user.token), party_type: 'user', party_id: user.userId },
      ]);
    });

    it('answers 400 invalid_request naming displayName when it is missing, empty or not a string', async () => {
      for (const body of [{}, { displayName: '' }, { displayName: 42 }]) {
        const response = await call<ErrorBody>(gateway, 'POST', '/v1/users', { body });
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(response.body.error.code, 'invalid_request');
        assert.ok(response.body.error.details?.['fields'], 'details.fields');
        assert.match(JSON.stringify(response.body.error.details), /displayName/);
      }
    });

    it('answers 503 with Retry-After and creates nothing when the ledger is down', async () => {
      gateway.ledger.setFault({ kind: 'unavailable' });
      try {
        const response = await call<ErrorBody>(gateway, 'POST', '/v1/users', {
          body: { displayName: 'Nobody' },
        });
        assert.equal(response.status, 503);
        assert.equal(response.body.error.code, 'service_unavailable');
        assert.ok(Number(response.headers['retry-after']) >= 1);
      } finally {
        gateway.ledger.setFault({ kind: 'none' });
      }
    });
  });

  describe('POST /v1/merchants', () => {
    it('creates a merchant with a merchant account and an API key', async () => {
      const response = await call<{ merchantId: string; apiKey: string; accountId: string }>(
        gateway,
        'POST',
        '/v1/merchants',
        { body: { name: 'Koban Coffee', mcc: '5812' } },
      );
      assert.equal(response.status, 201);
      assert.match(response.body.merchantId, /^mch_[0-9a-f]{32}$/);
      assert.match(response.body.apiKey, /^kbk_/);
      const account = gateway.book.accounts.get(response.body.accountId);
      assert.deepEqual(
        [account?.ownerType, account?.kind, account?.currency],
        ['OWNER_TYPE_MERCHANT', 'ACCOUNT_KIND_MERCHANT', 'JPY'],
      );
    });

    it('answers 400 for a missing name or an mcc that is not four digits', async () => {
      const noName = await call<ErrorBody>(gateway, 'POST', '/v1/merchants', { body: { mcc: '5812' } });
      assert.equal(noName.status, 400);
      assert.deepEqual(Object.keys(noName.body.error.details?.['fields'] as object), ['name']);
      const badMcc = await call<ErrorBody>(gateway, 'POST', '/v1/merchants', {
        body: { name: 'x', mcc: '58' },
      });
      assert.equal(badMcc.status, 400);
      assert.deepEqual(Object.keys(badMcc.body.error.details?.['fields'] as object), ['mcc']);
    });
  });

  describe('authentication', () => {
    it('answers 401 unauthenticated without a token, with an unknown one, or with another scheme', async () => {
      const user = await createUser(gateway);
      const path = `/v1/users/${user.userId}/balance`;
      for (const headers of [
        {},
        { authorization: 'Bearer kbt_unknown' },
        { authorization: `Basic ${user.token}` },
      ]) {
        const response = await call<ErrorBody>(gateway, 'GET', path, { headers });
        assert.equal(response.status, 401, JSON.stringify(headers));
        assert.equal(response.body.error.code, 'unauthenticated');
      }
    });

    it('authenticates from the Redis cache, and from the database when the cache has nothing', async () => {
      const user = await createUser(gateway);
      const hash = hashCredential(user.token);
      await gateway.redis.del(`gateway:party:${hash}`);
      assert.equal((await gateway.parties.authenticate(user.token)).kind, 'user');
      assert.ok(await gateway.redis.get(`gateway:party:${hash}`), 'cached after the database lookup');
      // With the credential gone from the database, only the cache can still answer.
      await gateway.db.query('DELETE FROM credentials WHERE token_hash = ?', [hash]);
      const party = await gateway.parties.authenticate(user.token);
      assert.equal(party.kind === 'user' && party.user.userId, user.userId);
      await gateway.redis.del(`gateway:party:${hash}`);
      await assert.rejects(gateway.parties.authenticate(user.token), { code: 'unauthenticated' });
    });

    it('answers 404 for a valid credential of the wrong kind, admin included', async () => {
      const user = await createUser(gateway);
      const shop = await createMerchant(gateway);
      const asMerchant = await call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
        token: shop.apiKey,
      });
      assert.equal(asMerchant.status, 404);
      assert.equal(asMerchant.body.error.code, 'not_found');
      const asAdmin = await call<ErrorBody>(gateway, 'GET', `/v1/users/${user.userId}/balance`, {
        token: ADMIN_TOKEN,
      });
      assert.equal(asAdmin.status, 404);
      const userAsAdmin = await call<ErrorBody>(gateway, 'POST', '/v1/admin/credits', {
        token: user.token,
        idempotencyKey: 'k',
        body: { userId: user.userId, amount: 100, currency: 'JPY' },
      });
      assert.equal(userAsAdmin.status, 404);
    });
  });

  describe('with Redis down', () => {
    let degraded: Gateway;
    before(async () => {
      degraded = await startGateway({ redisUrl: 'redis://127.0.0.1:1' });
    });
    after(() => degraded.close());

    it('still signs up and authenticates, from the database', async () => {
      const user = await createUser(degraded);
      const response = await call(degraded, 'GET', `/v1/users/${user.userId}/balance`, { token: user.token });
      assert.equal(response.status, 200, JSON.stringify(response.body));
    });
  });

  describe('PartyService over gRPC', () => {
    let server: GrpcServer;
    let client: ReturnType<typeof partyClient>;
    const partyClient = (address: string) =>
      createGrpcClient(loadProtos().koban.gateway.v1.PartyService, address, { timeoutMs: 2_000 });

    before(async () => {
      server = createGrpcServer({
        serviceName: 'gateway',
        logger: createLogger({ service: 'gateway-test', level: 'silent' }),
        domainErrorStatus: partyErrorStatus,
      });
      server.addService(
        loadProtos().koban.gateway.v1.PartyService.service,
        partyGrpcHandlers(gateway.parties),
      );
      client = partyClient(`127.0.0.1:${await server.listen(0)}`);
    });
    after(async () => {
      client.close();
      await server.shutdown(0);
    });

    it('creates, gets and authenticates users and merchants', async () => {
      const created = await client.createUser({ displayName: 'Grpc User' });
      assert.ok(created.user?.walletAccountId);
      const fetched = await client.getUser({ userId: created.user?.userId ?? '' });
      assert.equal(fetched.user?.displayName, 'Grpc User');
      const byToken = await client.authenticate({ token: created.token });
      assert.equal(byToken.party, 'user');
      assert.equal(byToken.user?.userId, created.user?.userId);

      const merchant = await client.createMerchant({ name: 'Grpc Shop', mcc: '' });
      assert.equal(merchant.merchant?.mcc, '');
      const byKey = await client.authenticate({ token: merchant.apiKey });
      assert.equal(byKey.party, 'merchant');
      assert.equal(
        (await client.getMerchant({ merchantId: merchant.merchant?.merchantId ?? '' })).merchant?.name,
        'Grpc Shop',
      );
    });

    it('answers not_found, unauthenticated and invalid_request as domain errors', async () => {
      await assert.rejects(client.getUser({ userId: 'usr_missing' }), (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'not_found');
        return true;
      });
      await assert.rejects(client.authenticate({ token: 'nope' }), { code: 'unauthenticated' });
      await assert.rejects(client.createUser({ displayName: '' }), (error: unknown) => {
        assert.ok(error instanceof DomainError);
        assert.equal(error.code, 'invalid_request');
        assert.ok(error.details?.['fields']);
        return true;
      });
    });
  });
});
