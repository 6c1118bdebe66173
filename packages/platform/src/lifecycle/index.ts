export { createShutdown, shutdownOrder } from './shutdown.js';
export type { Shutdown, ShutdownContext, ShutdownSettings, ShutdownStep } from './shutdown.js';
