/**
 * Loaded with `node --import @koban/platform/telemetry-register` BEFORE the application, so the
 * instrumentations can patch http, grpc, mysql2, ioredis, kafkajs and pino as they are imported.
 * In ESM, patching goes through import-in-the-middle's loader hook; the message channel limits it
 * to the modules the instrumentations asked for instead of wrapping every import.
 */
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { startTelemetry } from './telemetry.js';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
startTelemetry();
await waitForAllMessagesAcknowledged();
