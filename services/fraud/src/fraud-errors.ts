// The fraud service's domain errors: the codes it answers with (proto/koban/fraud/v1/fraud.proto)
// and how a request that cannot be served becomes one.
import { DomainError } from '@koban/platform';

/** The domain error codes the fraud service answers with. */
export type FraudErrorCode = 'invalid_request';

/** `invalid_request` naming each offending field (field → problem) in `details.fields`. */
export function invalidRequest(problems: Readonly<Record<string, string>>): DomainError<FraudErrorCode> {
  return new DomainError<FraudErrorCode>('invalid_request', `invalid ${Object.keys(problems).join(', ')}`, {
    fields: problems,
  });
}

/** Throws `invalid_request` when `problems` names any field. */
export function assertNoProblems(problems: Readonly<Record<string, string>>): void {
  if (Object.keys(problems).length > 0) throw invalidRequest(problems);
}
