import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createRemoteJWKSet } from 'jose';
import { AccessTokenVerifier, DEFAULT_POLL_SCOPES, type ClientClaim } from '../core/access-token.ts';
import { ClientAuthenticator } from '../core/client-authenticator.ts';
import { settingsFromEnv, type PollSettings } from '../core/settings.ts';
import { DynamoQueueStore } from '../store/dynamo-queue-store.ts';
import { RecipientRegistry } from '../store/recipient-registry.ts';

/** What every handler builds from the Lambda environment: the table, the caller checks, logging. */
export interface SharedDeps {
  readonly tableName: string;
  readonly settings: PollSettings;
  readonly logger: Logger;
  readonly client: DynamoDBDocumentClient;
  readonly store: DynamoQueueStore;
  readonly authenticator: ClientAuthenticator;
  readonly tokens: AccessTokenVerifier;
}

export function sharedDepsFromEnv(env: NodeJS.ProcessEnv): SharedDeps {
  const tableName = env.SETPOLL_TABLE_NAME;
  if (!tableName) throw new TypeError('SETPOLL_TABLE_NAME is required');
  const settings = settingsFromEnv(env);
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'setpoll' });
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient(env.SETPOLL_DYNAMODB_ENDPOINT ? { endpoint: env.SETPOLL_DYNAMODB_ENDPOINT } : {}),
  );
  const store = new DynamoQueueStore({
    client,
    tableName,
    onCapacity: (operation, capacity) => logger.debug('ConsumedCapacity', { operation, capacity }),
  });
  const authenticator = new ClientAuthenticator({
    registry: new RecipientRegistry({ client, tableName }),
    realm: settings.realm,
    cacheSeconds: settings.identityCacheSeconds,
  });
  return { tableName, settings, logger, client, store, authenticator, tokens: tokenVerifierFromEnv(env, settings.realm) };
}

/** The token check is not optional: without its settings the function refuses to start. */
export function tokenVerifierFromEnv(env: NodeJS.ProcessEnv, realm: string): AccessTokenVerifier {
  const { SETPOLL_TOKEN_JWKS_URL: jwksUrl, SETPOLL_TOKEN_ISSUER: issuer, SETPOLL_TOKEN_AUDIENCE: audience } = env;
  if (!jwksUrl || !issuer || !audience) {
    throw new TypeError('SETPOLL_TOKEN_JWKS_URL, SETPOLL_TOKEN_ISSUER and SETPOLL_TOKEN_AUDIENCE are required');
  }
  const clientClaim = (env.SETPOLL_TOKEN_CLIENT_CLAIM || 'client_id') as ClientClaim;
  if (!['client_id', 'azp', 'sub'].includes(clientClaim)) throw new TypeError('SETPOLL_TOKEN_CLIENT_CLAIM must be client_id, azp or sub');
  const scopes = (env.SETPOLL_TOKEN_SCOPES ?? '').split(/\s+/).filter(Boolean);
  return new AccessTokenVerifier({
    // Cached across invocations; an unknown kid triggers a refetch (rate-limited by the cooldown).
    keys: createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3000 }),
    issuer,
    audience,
    scopes: scopes.length > 0 ? scopes : DEFAULT_POLL_SCOPES,
    clientClaim,
    realm,
  });
}

