// `pnpm demo`: the money flows of Koban against a running platform (`pnpm run up` first),
// step by step with the balances after each: sign up, fund, pay by QR, P2P transfer, refund.
import {
  api,
  createMerchant,
  createQr,
  createUser,
  creditWallet,
  gatewayUrl,
  merchantBalance,
  newKey,
  userBalance,
  type TestMerchant,
  type TestUser,
} from '../tests/support/api-client.js';

const yen = (amount: number) => `¥${amount.toLocaleString('en-US')}`;

async function showBalances(alice: TestUser, bob: TestUser, shop: TestMerchant): Promise<void> {
  const [a, b, m] = await Promise.all([userBalance(alice), userBalance(bob), merchantBalance(shop)]);
  console.log(`   balances: Alice ${yen(a.available)} · Bob ${yen(b.available)} · Koban Coffee ${yen(m)}`);
}

function step(text: string): void {
  console.log(`\n▶ ${text}`);
}

function check(response: { status: number; body: unknown }, expected: number): void {
  if (response.status !== expected) {
    throw new Error(`expected ${expected}, got ${response.status}: ${JSON.stringify(response.body)}`);
  }
}

console.log(`Koban demo against ${gatewayUrl}`);

step('Sign up Alice and Bob, and register the merchant Koban Coffee');
const alice = await createUser('Alice');
const bob = await createUser('Bob');
const shop = await createMerchant('Koban Coffee');
console.log(`   Alice ${alice.userId} · Bob ${bob.userId} · Koban Coffee ${shop.merchantId}`);

step(`Fund Alice's wallet with ${yen(10_000)} (admin credit from the system funding account)`);
await creditWallet(alice.userId, 10_000);
await showBalances(alice, bob, shop);

step(`Koban Coffee shows a dynamic QR code for ${yen(1_500)}; Alice scans it and pays`);
const payload = await createQr(shop, 1_500);
console.log(`   QR payload: ${payload}`);
const payment = await api<{ paymentId: string; status: string; cashback: { status: string } }>(
  'POST',
  '/v1/payments',
  { token: alice.token, idempotencyKey: newKey(), body: { userId: alice.userId, qrPayload: payload } },
);
check(payment, 201);
console.log(
  `   payment ${payment.body.paymentId}: ${payment.body.status}, cashback ${payment.body.cashback.status}`,
);
await showBalances(alice, bob, shop);

step(`Alice sends Bob ${yen(2_000)} for lunch`);
const transfer = await api<{ transferId: string; status: string }>('POST', '/v1/transfers', {
  token: alice.token,
  idempotencyKey: newKey(),
  body: { fromUserId: alice.userId, toUserId: bob.userId, amount: 2_000, currency: 'JPY', message: 'lunch' },
});
check(transfer, 201);
console.log(`   transfer ${transfer.body.transferId}: ${transfer.body.status}`);
await showBalances(alice, bob, shop);

step(`Koban Coffee refunds ${yen(500)} of the payment`);
const refund = await api<{ refundId: string; status: string; amount: number }>(
  'POST',
  `/v1/payments/${payment.body.paymentId}/refunds`,
  { token: shop.apiKey, idempotencyKey: newKey(), body: { amount: 500 } },
);
check(refund, 201);
console.log(`   refund ${refund.body.refundId}: ${refund.body.status} ${yen(refund.body.amount)}`);
await showBalances(alice, bob, shop);

step("Alice's latest transactions");
const history = await api<{ items: Array<Record<string, unknown>> }>(
  'GET',
  `/v1/users/${alice.userId}/transactions?limit=5`,
  { token: alice.token },
);
check(history, 200);
for (const item of history.body.items) console.log(`   ${JSON.stringify(item)}`);
console.log('\nDone.');
