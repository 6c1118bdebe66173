import {
  createGrpcClient,
  loadProtos,
  type BreakerSnapshot,
  type GrpcClient,
  type KobanProtos,
  type Logger,
} from '@koban/platform';
import {
  breakersBody,
  localBreakerView,
  remoteBreakerViews,
  type BreakerView,
  type RemoteBreakers,
} from './breakers.js';

type OpsClient = GrpcClient<KobanProtos['koban']['ops']['v1']['OpsService']['service']>;

/** How long one service may take to list its breakers before it is reported unreachable. */
export const LIST_BREAKERS_TIMEOUT_MS = 1_000;

export interface BreakerCollectorDeps {
  logger: Logger;
  /** The gateway's own breakers (the platform's `listBreakers`). */
  local: () => Readonly<Record<string, BreakerSnapshot>>;
  /** Every other service's gRPC address, by Koban service name. */
  services: Readonly<Record<string, string>>;
  timeoutMs?: number | undefined;
}

export interface BreakerCollector {
  /** Every breaker of every service; a service that does not answer is listed as unreachable. */
  collect(): Promise<Record<string, BreakerView | string[]>>;
  close(): void;
}

/**
 * Asks each service's OpsService for its breakers, in parallel. These calls go through no
 * breaker of their own: the control plane must show a broken service, not hide behind it.
 */
export function createBreakerCollector(deps: BreakerCollectorDeps): BreakerCollector {
  const timeoutMs = deps.timeoutMs ?? LIST_BREAKERS_TIMEOUT_MS;
  const clients = Object.entries(deps.services).map(
    ([service, address]) =>
      [service, createGrpcClient(loadProtos().koban.ops.v1.OpsService, address, { timeoutMs })] as [
        string,
        OpsClient,
      ],
  );
  return {
    async collect() {
      const entries: [string, BreakerView][] = Object.entries(deps.local()).map(([name, snapshot]) => [
        name,
        localBreakerView(snapshot),
      ]);
      const unreachable: string[] = [];
      const answers = await Promise.allSettled(
        clients.map(([, client]) => client.listBreakers({}, { timeoutMs }) as Promise<RemoteBreakers>),
      );
      answers.forEach((answer, index) => {
        const service = clients[index]?.[0] ?? 'unknown';
        if (answer.status === 'fulfilled') entries.push(...remoteBreakerViews(answer.value));
        else {
          unreachable.push(service);
          deps.logger.warn({ service, err: answer.reason as unknown }, 'a service did not list its breakers');
        }
      });
      return breakersBody(entries, unreachable);
    },
    close() {
      for (const [, client] of clients) client.close();
    },
  };
}
