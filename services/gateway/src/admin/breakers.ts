import type { BreakerSnapshot, BreakerState } from '@koban/platform';

/** One breaker as `GET /v1/admin/breakers` shows it. */
export interface BreakerView {
  state: BreakerState;
  caller: string;
  callee: string;
  successes: number;
  failures: number;
  rejections: number;
  trips: number;
  lastTransitionAt: string | null;
  /** The instances reporting it (host:pid), or `local` for the gateway answering. */
  instances: string[];
}

/** `ListBreakersResponse` as the OpsService client decodes it (int64 as strings, enums by name). */
export interface RemoteBreakers {
  service: string;
  instance: string;
  breakers: readonly {
    name: string;
    caller: string;
    callee: string;
    state: string;
    successes: string | number;
    failures: string | number;
    rejections: string | number;
    trips: string | number;
    lastTransitionAt: { seconds: string | number; nanos: number } | null;
  }[];
}

const remoteStates: Readonly<Record<string, BreakerState>> = {
  BREAKER_STATE_CLOSED: 'closed',
  BREAKER_STATE_OPEN: 'open',
  BREAKER_STATE_HALF_OPEN: 'half-open',
};

// When replicas disagree the least healthy state is shown: one open breaker is worth seeing.
const severity: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function merge(existing: BreakerView | undefined, next: BreakerView): BreakerView {
  if (existing === undefined) return next;
  return {
    state: severity[next.state] > severity[existing.state] ? next.state : existing.state,
    caller: existing.caller,
    callee: existing.callee,
    successes: existing.successes + next.successes,
    failures: existing.failures + next.failures,
    rejections: existing.rejections + next.rejections,
    trips: existing.trips + next.trips,
    lastTransitionAt: later(existing.lastTransitionAt, next.lastTransitionAt),
    instances: [...existing.instances, ...next.instances],
  };
}

export function localBreakerView(snapshot: BreakerSnapshot): BreakerView {
  return {
    state: snapshot.state,
    caller: snapshot.caller,
    callee: snapshot.callee,
    successes: snapshot.successes,
    failures: snapshot.failures,
    rejections: snapshot.rejections,
    trips: snapshot.trips,
    lastTransitionAt: snapshot.lastTransitionAt,
    instances: ['local'],
  };
}

export function remoteBreakerViews(answer: RemoteBreakers): [string, BreakerView][] {
  return answer.breakers.map((breaker) => {
    const at = breaker.lastTransitionAt;
    return [
      breaker.name,
      {
        state: remoteStates[breaker.state] ?? 'closed',
        caller: breaker.caller,
        callee: breaker.callee,
        successes: Number(breaker.successes),
        failures: Number(breaker.failures),
        rejections: Number(breaker.rejections),
        trips: Number(breaker.trips),
        lastTransitionAt:
          at === null ? null : new Date(Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6)).toISOString(),
        instances: [answer.instance],
      },
    ];
  });
}

/**
 * The body of `GET /v1/admin/breakers`: every breaker keyed `"<caller>→<callee>"`, sorted, and,
 * only when some service did not answer, `unreachable` naming them (a key without `→`, so it
 * never collides with a breaker).
 */
export function breakersBody(
  entries: Iterable<[string, BreakerView]>,
  unreachable: readonly string[],
): Record<string, BreakerView | string[]> {
  const merged = new Map<string, BreakerView>();
  for (const [name, view] of entries) merged.set(name, merge(merged.get(name), view));
  const body: Record<string, BreakerView | string[]> = {};
  for (const name of [...merged.keys()].sort()) body[name] = merged.get(name) as BreakerView;
  if (unreachable.length > 0) body['unreachable'] = [...unreachable].sort();
  return body;
}
