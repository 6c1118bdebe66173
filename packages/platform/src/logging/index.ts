export { createLogger, redactedPaths } from './logger.js';
export type { Logger, LoggerSettings } from './logger.js';
