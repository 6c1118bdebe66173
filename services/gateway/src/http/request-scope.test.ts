import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { remainingBudgetMs } from '@koban/platform';
import Fastify from 'fastify';
import { ApiError } from './api-error.js';
import { handler, withinDeadline } from './request-scope.js';

describe('withinDeadline', () => {
  it('settles with the work when it finishes in time', async () => {
    assert.equal(await withinDeadline(() => Promise.resolve(7), Date.now() + 1_000), 7);
  });

  it('rejects with 503 service_unavailable and Retry-After at the deadline, not when the work ends', async () => {
    const started = Date.now();
    const error = await withinDeadline(
      () => new Promise((resolve) => setTimeout(resolve, 1_000)),
      started + 50,
    ).catch((thrown: unknown) => thrown);
    assert.ok(error instanceof ApiError);
    assert.deepEqual(
      [error.statusCode, error.code, error.retryAfterSeconds],
      [503, 'service_unavailable', 1],
    );
    assert.ok(Date.now() - started < 500);
  });

  it('rejects at once when the deadline has passed, without starting the work', async () => {
    let started = false;
    await assert.rejects(
      withinDeadline(() => {
        started = true;
        return Promise.resolve();
      }, Date.now() - 1),
      ApiError,
    );
    assert.equal(started, false);
  });

  it('swallows a failure of work that outlived its deadline', async () => {
    await assert.rejects(
      withinDeadline(
        () => new Promise((_resolve, reject) => setTimeout(() => reject(new Error('late')), 30)),
        Date.now() + 5,
      ),
      ApiError,
    );
    // An unhandled rejection would fail the test run.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
});

describe('handler', () => {
  it('runs the route in the request context, so gRPC calls get the remaining budget', async () => {
    const app = Fastify();
    app.decorateRequest('deadline', 0);
    app.addHook('onRequest', (request, _reply, done) => {
      request.deadline = Date.now() + 1_000;
      done();
    });
    app.get(
      '/budget',
      handler(() =>
        Promise.resolve({
          status: 200,
          body: { budget: remainingBudgetMs() },
          headers: { 'x-extra': 'yes' },
        }),
      ),
    );
    const response = await app.inject({ method: 'GET', url: '/budget' });
    const { budget } = response.json<{ budget: number }>();
    assert.ok(budget > 500 && budget <= 1_000, String(budget));
    assert.equal(response.headers['x-extra'], 'yes');
    await app.close();
  });
});
