export * from './config/index.js';
export * from './logging/index.js';
