// Each service's zod config schema, to check that a deployment's environment starts it.
import { configSchema as bankIntegration } from '../../services/bank-integration/src/config.js';
import { configSchema as campaignPromo } from '../../services/campaign-promo/src/config.js';
import { configSchema as fraud } from '../../services/fraud/src/config.js';
import { configSchema as gateway } from '../../services/gateway/src/config.js';
import { configSchema as ledger } from '../../services/ledger/src/config.js';
import { configSchema as payment } from '../../services/payment/src/config.js';
import type { ServiceName } from './deploy-support.js';

/** What these tests use of a zod schema (zod is the services' dependency, not this package's). */
export interface ConfigSchema {
  safeParse(value: unknown): {
    success: boolean;
    error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
  };
}

export const configSchemas: Readonly<Record<ServiceName, ConfigSchema>> = {
  ledger,
  fraud,
  'bank-integration': bankIntegration,
  'campaign-promo': campaignPromo,
  payment,
  gateway,
};

/** The variables a schema requires: those of its object shape that do not parse when unset. */
export function requiredVariables(schema: ConfigSchema): string[] {
  const shape = (schema as unknown as { shape?: Record<string, ConfigSchema> }).shape;
  if (shape === undefined) throw new Error('config schema is not an object schema');
  return Object.entries(shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([name]) => name);
}

/** Issues of parsing `env` with the service's schema, one line each ('' when it parses). */
export function configIssues(service: ServiceName, env: Record<string, string>): string {
  const result = configSchemas[service].safeParse(env);
  if (result.success) return '';
  return (result.error?.issues ?? [])
    .map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`)
    .join('\n');
}
