export {
  ConfigError,
  parseConfig,
  parseConfigOrExit,
  envInt,
  envBool,
  envList,
  commonEnv,
  consumerEnv,
  grpcPortEnv,
  addressEnv,
  logLevelSchema,
} from './config.js';
