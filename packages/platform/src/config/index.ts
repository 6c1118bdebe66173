export {
  ConfigError,
  parseConfig,
  parseConfigOrExit,
  envInt,
  envBool,
  envList,
  commonEnv,
  grpcPortEnv,
  addressEnv,
  logLevelSchema,
} from './config.js';
