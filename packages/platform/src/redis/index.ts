export { connectRedis, createRedis, redisReady, redisReconnectDelayMs } from './redis.js';
export type { RedisClient, RedisSettings } from './redis.js';
