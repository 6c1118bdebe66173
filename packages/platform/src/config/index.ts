export { ConfigError, parseConfig, envInt, envBool, envList, commonEnv, grpcPortEnv, addressEnv, logLevelSchema } from './config.js';
