import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatabaseUnavailableError } from '../db/sql-access.js';
import { guardDatabaseUnavailable } from './database-unavailable-guard.js';

class Unavailable extends Error {}

void describe('guardDatabaseUnavailable', () => {
  const guard = guardDatabaseUnavailable((error) => new Unavailable('retry later', { cause: error }));

  void it('answers what the handler answers', async () => {
    const handler = guard((request: { n: number }, call: string) => ({ n: request.n + 1, call }));
    assert.deepEqual(await handler({ n: 1 }, 'call'), { n: 2, call: 'call' });
  });

  void it('rethrows an open database breaker as the service chose, keeping it as the cause', async () => {
    const breakerOpen = new DatabaseUnavailableError('DB_BREAKER_OPEN', { cause: undefined });
    const handler = guard(() => Promise.reject(breakerOpen));
    const error = await handler({}, undefined).then(
      () => assert.fail('resolved'),
      (error: unknown) => error,
    );
    assert.ok(error instanceof Unavailable);
    assert.equal(error.cause, breakerOpen);
  });

  void it('rethrows a refused connection as unavailable too', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await assert.rejects(guard(() => Promise.reject(refused))({}, undefined), Unavailable);
  });

  void it('lets any other failure through unchanged', async () => {
    const duplicate = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' });
    await assert.rejects(
      guard(() => Promise.reject(duplicate))({}, undefined),
      (error) => error === duplicate,
    );
  });
});
