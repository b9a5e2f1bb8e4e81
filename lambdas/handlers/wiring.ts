import { Logger } from '@aws-lambda-powertools/logger';
import { createRemoteJWKSet } from 'jose';
import { composeServices, type NotifierInputs, type Services, type SsfInputs } from '../composition.ts';
import type { NotifierServices } from '../notifier/services.ts';
import type { SsfServices } from '../ssf/services.ts';
import { DEFAULT_ACCEPTED_POLL_SCOPES, DEFAULT_TOKEN_CLIENT_CLAIM, ENV, POLL_SERVICE, TOKEN_CLIENT_CLAIMS, type ClientClaim } from '../contract.ts';
import { AccessTokenVerifier } from '../core/access-token.ts';
import { ProgrammerError } from '../core/errors.ts';
import { DEFAULT_SETTINGS, settingsFromEnv, type SettingKey } from '../core/settings.ts';
import { createDocumentClient } from '../store/document-client.ts';

/** A setting the function cannot start without: its absence is a deployment error. */
export function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ProgrammerError(`${name} is required`);
  return value;
}

export type LambdaServices = Services & { readonly logger: Logger };

/** Which of the optional variables (lambdas/contract.ts) a function reads. */
export interface EnvReads {
  /** The settings read; the others keep their defaults. */
  readonly settings: readonly SettingKey[];
  /** Whether SETPOLL_TOKEN_SCOPES and SETPOLL_TOKEN_CLIENT_CLAIM are read (the poll function's). */
  readonly tokenOptions: boolean;
}

/**
 * A Lambda function's services from its environment: the variables the contract names, then the
 * composition root. The logger is the function's own (Powertools reads its level from the runtime).
 */
export function servicesFromEnv(env: NodeJS.ProcessEnv, reads: EnvReads, notifier: NotifierInputs, ssf?: SsfInputs): LambdaServices & NotifierServices & Partial<SsfServices>;
export function servicesFromEnv(env: NodeJS.ProcessEnv, reads: EnvReads): LambdaServices;
export function servicesFromEnv(env: NodeJS.ProcessEnv, reads: EnvReads, notifier?: NotifierInputs, ssf?: SsfInputs): LambdaServices & Partial<NotifierServices> & Partial<SsfServices> {
  const tableName = requiredEnv(env, ENV.tableName);
  const settings = settingsFromEnv(env, DEFAULT_SETTINGS, reads.settings);
  const logger = new Logger({ serviceName: env[ENV.serviceName] ?? POLL_SERVICE });
  const endpoint = env[ENV.dynamoDbEndpoint];
  const tokens = tokenVerifierFromEnv(env, settings.realm, reads.tokenOptions);
  const services = composeServices({
    client: createDocumentClient(endpoint ? { endpoint } : {}),
    tableName,
    settings,
    tokens,
    onCapacity: (operation, capacity) => logger.debug('ConsumedCapacity', { operation, capacity }),
    ...(notifier ? { notifier } : {}),
    ...(ssf ? { ssf } : {}),
  });
  return { ...services, logger };
}

/** The token check is not optional: without its settings the function refuses to start. */
export function tokenVerifierFromEnv(env: NodeJS.ProcessEnv, realm: string, readOptions = true): AccessTokenVerifier {
  const jwksUrl = env[ENV.tokenJwksUrl];
  const issuer = env[ENV.tokenIssuer];
  const audience = env[ENV.tokenAudience];
  if (!jwksUrl || !issuer || !audience) {
    throw new ProgrammerError(`${ENV.tokenJwksUrl}, ${ENV.tokenIssuer} and ${ENV.tokenAudience} are required`);
  }
  const clientClaim = ((readOptions && env[ENV.tokenClientClaim]) || DEFAULT_TOKEN_CLIENT_CLAIM) as ClientClaim;
  if (!TOKEN_CLIENT_CLAIMS.includes(clientClaim)) throw new ProgrammerError(`${ENV.tokenClientClaim} must be client_id, azp or sub`);
  const scopes = readOptions ? (env[ENV.tokenScopes] ?? '').split(/\s+/).filter(Boolean) : [];
  const requireAtJwt = env[ENV.tokenRequireAtJwt] || 'false';
  if (requireAtJwt !== 'true' && requireAtJwt !== 'false') throw new ProgrammerError(`${ENV.tokenRequireAtJwt} must be true or false`);
  const maxLifetime = env[ENV.tokenMaxLifetimeSeconds];
  if (maxLifetime !== undefined && maxLifetime !== '' && !/^(0|[1-9][0-9]{0,8})$/.test(maxLifetime)) {
    throw new ProgrammerError(`${ENV.tokenMaxLifetimeSeconds} must be a whole number of seconds (0: no limit)`);
  }
  return new AccessTokenVerifier({
    // Cached across invocations; an unknown kid triggers a refetch (rate-limited by the cooldown).
    keys: createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3000 }),
    issuer,
    audience,
    scopes: scopes.length > 0 ? scopes : DEFAULT_ACCEPTED_POLL_SCOPES,
    clientClaim,
    realm,
    requireAtJwt: requireAtJwt === 'true',
    ...(maxLifetime && maxLifetime !== '0' ? { maxLifetimeSeconds: Number(maxLifetime) } : {}),
  });
}
