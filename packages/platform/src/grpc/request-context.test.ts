import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentRequestContext, remainingBudgetMs, runWithRequestContext } from './request-context.js';

describe('request context', () => {
  it('has no budget limit outside a request', () => {
    assert.equal(currentRequestContext(), undefined);
    assert.equal(remainingBudgetMs(), Infinity);
  });

  it('follows the work across awaits', async () => {
    const seen = await runWithRequestContext({ deadline: 10_000, requestId: 'r-1' }, async () => {
      await Promise.resolve();
      return { context: currentRequestContext(), remaining: remainingBudgetMs(9_000) };
    });
    assert.deepEqual(seen, { context: { deadline: 10_000, requestId: 'r-1' }, remaining: 1_000 });
  });

  it('never reports a negative budget', () => {
    assert.equal(
      runWithRequestContext({ deadline: 5 }, () => remainingBudgetMs(10)),
      0,
    );
  });

  it('has no limit when the request has no deadline', () => {
    assert.equal(
      runWithRequestContext({ deadline: undefined }, () => remainingBudgetMs()),
      Infinity,
    );
  });
});
