import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@koban/platform/testing';

export type { TestDatabase };

export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** A fresh `koban_test_<random>` schema with the campaign-promo migrations applied, and how to drop it. */
export const freshDatabase = (): Promise<TestDatabase> => createTestDatabase({ migrationsDir, poolSize: 30 });
