import {
  GrpcStatusError,
  createGrpcServer,
  createLogger,
  loadProtos,
  toTimestamp,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';

type FraudDefinition = KobanProtos['koban']['fraud']['v1']['FraudService']['service'];
type Handlers = ServiceHandlers<FraudDefinition>;
export type LockoutStateCall = Parameters<Handlers['GetLockoutState']>[0];
export type RecordCardCheckCall = Parameters<Handlers['RecordCardCheck']>[0];

const UNAVAILABLE = 14;
const MINUTE = 60_000;

/** API.md's default lockouts: threshold (the failure that locks), window, lock duration. */
export const lockoutRules = {
  user: { locksAt: 5, windowMs: 60 * MINUTE, durationMs: 30 * MINUTE },
  card: { locksAt: 5, windowMs: 60 * MINUTE, durationMs: 30 * MINUTE },
  ip: { locksAt: 31, windowMs: 10 * MINUTE, durationMs: 10 * MINUTE },
} as const;

type Kind = keyof typeof lockoutRules;

/**
 * An in-process fraud service speaking the real FraudService proto, with an in-memory lockout:
 * wrong CVCs count toward the user and card locks, every failure toward the IP throttle. It
 * records every call, and can be taken down or slowed.
 */
export interface FakeFraud {
  address: string;
  down: boolean;
  /** RecordCardCheck alone fails (GetLockoutState still answers). */
  recordDown: boolean;
  /** Delay before answering, in ms (above the 300 ms budget the caller gives up). */
  delayMs: number;
  stateCalls: LockoutStateCall[];
  recorded: RecordCardCheckCall[];
  /** Locks a subject directly, as if it had failed enough. */
  lock(kind: Kind, key: string, forMs?: number): void;
  close(): Promise<void>;
}

export async function startFakeFraud(): Promise<FakeFraud> {
  const failures = new Map<string, number[]>();
  const locks = new Map<string, number>();
  const id = (kind: Kind, key: string) => `${kind}:${key}`;

  const lockOf = (kind: Kind, key: string, nowMs: number) => {
    if (key === '')
      return { locked: false, lockedUntil: null, failures: 0, threshold: lockoutRules[kind].locksAt };
    const until = locks.get(id(kind, key));
    const counted = (failures.get(id(kind, key)) ?? []).filter(
      (at) => at > nowMs - lockoutRules[kind].windowMs,
    );
    const locked = until !== undefined && until > nowMs;
    return {
      locked,
      lockedUntil: locked ? toTimestamp(until) : null,
      failures: counted.length,
      threshold: lockoutRules[kind].locksAt,
    };
  };
  const stateOf = (request: { userId: string; cardFingerprint: string; clientIp: string }) => {
    const nowMs = Date.now();
    return {
      user: lockOf('user', request.userId, nowMs),
      card: lockOf('card', request.cardFingerprint, nowMs),
      clientIp: lockOf('ip', request.clientIp, nowMs),
    };
  };
  const count = (kind: Kind, key: string, nowMs: number) => {
    if (key === '') return;
    const rule = lockoutRules[kind];
    const window = (failures.get(id(kind, key)) ?? []).filter((at) => at > nowMs - rule.windowMs);
    window.push(nowMs);
    failures.set(id(kind, key), window);
    const until = locks.get(id(kind, key));
    if (window.length >= rule.locksAt && (until === undefined || until <= nowMs)) {
      locks.set(id(kind, key), nowMs + rule.durationMs);
    }
  };

  const fraud: Omit<FakeFraud, 'address' | 'close'> = {
    down: false,
    recordDown: false,
    delayMs: 0,
    stateCalls: [],
    recorded: [],
    lock(kind, key, forMs = lockoutRules[kind].durationMs) {
      locks.set(id(kind, key), Date.now() + forMs);
    },
  };
  const misbehave = async () => {
    if (fraud.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fraud.delayMs));
    if (fraud.down) throw new GrpcStatusError(UNAVAILABLE, 'fraud down');
  };

  const server = createGrpcServer({
    serviceName: 'fraud',
    logger: createLogger({ service: 'fake-fraud', level: 'silent' }),
    domainErrorStatus: { invalid_request: 3 },
    host: '127.0.0.1',
  });
  server.addService(loadProtos().koban.fraud.v1.FraudService.service, {
    Score() {
      throw new GrpcStatusError(12, 'not in the fake fraud service');
    },
    async GetLockoutState(request) {
      fraud.stateCalls.push(request);
      await misbehave();
      return { state: stateOf(request) };
    },
    async RecordCardCheck(request) {
      fraud.recorded.push(request);
      await misbehave();
      if (fraud.recordDown) throw new GrpcStatusError(UNAVAILABLE, 'fraud cannot record');
      const nowMs = Date.now();
      if (request.result === 'CARD_CHECK_RESULT_WRONG_CVC') {
        count('user', request.userId, nowMs);
        count('card', request.cardFingerprint, nowMs);
      }
      if (request.result !== 'CARD_CHECK_RESULT_APPROVED') count('ip', request.clientIp, nowMs);
      return { state: stateOf(request) };
    },
  });
  const port = await server.listen(0);
  return Object.assign(fraud, { address: `127.0.0.1:${port}`, close: () => server.shutdown(0) });
}
