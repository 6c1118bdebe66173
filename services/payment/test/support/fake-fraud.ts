import {
  GrpcStatusError,
  createGrpcServer,
  createLogger,
  loadProtos,
  type KobanProtos,
  type ServiceHandlers,
} from '@koban/platform';

type FraudDefinition = KobanProtos['koban']['fraud']['v1']['FraudService']['service'];
export type ScoreCall = Parameters<ServiceHandlers<FraudDefinition>['Score']>[0];

/** An in-process fraud service speaking the real FraudService proto, with a scripted decision. */
export interface FakeFraud {
  address: string;
  /** Decides each Score call; allows everything by default. */
  decide: (request: ScoreCall) => 'DECISION_ALLOW' | 'DECISION_DECLINE';
  /** Delay before answering, in ms (above the 300 ms budget the fallback answers). */
  delayMs: number;
  down: boolean;
  scoreCalls: ScoreCall[];
  close(): Promise<void>;
}

export async function startFakeFraud(): Promise<FakeFraud> {
  const server = createGrpcServer({
    serviceName: 'fraud',
    logger: createLogger({ service: 'fake-fraud', level: 'silent' }),
    domainErrorStatus: { invalid_request: 3 },
    host: '127.0.0.1',
  });
  const fraud: Omit<FakeFraud, 'address' | 'close'> = {
    decide: () => 'DECISION_ALLOW',
    delayMs: 0,
    down: false,
    scoreCalls: [],
  };
  const notImplemented = () => {
    throw new GrpcStatusError(12, 'not in the fake fraud service');
  };
  server.addService(loadProtos().koban.fraud.v1.FraudService.service, {
    async Score(request) {
      fraud.scoreCalls.push(request);
      if (fraud.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fraud.delayMs));
      if (fraud.down) throw new GrpcStatusError(14, 'fraud down');
      return { decision: fraud.decide(request), score: 0, reasons: [], features: null };
    },
    RecordCardCheck: notImplemented,
    GetLockoutState: notImplemented,
  });
  const port = await server.listen(0);
  return Object.assign(fraud, { address: `127.0.0.1:${port}`, close: () => server.shutdown(0) });
}
