import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createRemoteJWKSet } from 'jose';
import { AccessTokenVerifier, DEFAULT_POLL_SCOPES, type ClientClaim } from '../core/access-token.ts';
import { ClientAuthenticator } from '../core/client-authenticator.ts';
import { parsePollRequest } from '../core/poll-request.ts';
import { PollService } from '../core/poll-service.ts';
import { settingsFromEnv, type PollSettings } from '../core/settings.ts';
import { httpErrorHandler, jsonResponse } from '../http/error-handler.ts';
import { interactionId, type InteractionState } from '../http/interaction-id.ts';
import { parseJsonBody, requireMethod } from '../http/json-body.ts';
import { DynamoQueueStore } from '../store/dynamo-queue-store.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { RecipientRegistry } from '../store/recipient-registry.ts';

export interface PollHandlerDeps {
  readonly store: QueueStore;
  readonly authenticator: ClientAuthenticator;
  readonly tokens: AccessTokenVerifier;
  readonly settings: PollSettings;
  readonly logger: Logger;
}

export type PollHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The RFC 8936 poll endpoint as a list of small steps: method, client certificate, access token
 * bound to that certificate, body, poll. Nothing is read from the body before the caller is known.
 */
export function createPollHandler(deps: PollHandlerDeps): PollHandler {
  const { store, authenticator, tokens, settings, logger } = deps;
  const service = new PollService({ store, settings });

  const poll = async (event: APIGatewayProxyEventV2, context: Context & InteractionState): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ interactionId: context.interactionId, awsRequestId: context.awsRequestId });
    requireMethod(event, 'POST');
    const client = await authenticator.authenticate(event.requestContext.authentication?.clientCert?.clientCertPem);
    logger.appendKeys({ clientId: client.clientId });
    await tokens.verify(event.headers?.authorization, client);
    const request = parsePollRequest(parseJsonBody(event, settings.maxRequestBytes), { maxAnswers: settings.maxInFlight });
    const lang = event.headers?.['content-language'];
    const outcome = await service.poll(client.clientId, request, lang ? { lang: lang.slice(0, 64) } : {});
    logger.info('Poll answered', { ...outcome.stats, returnImmediately: request.returnImmediately, maxEvents: request.maxEvents });
    return jsonResponse(200, { sets: outcome.sets, moreAvailable: outcome.moreAvailable });
  };

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context & InteractionState>()
    .use(interactionId())
    .use(httpErrorHandler({ logger }))
    .handler(poll) as unknown as PollHandler;
}

/** Wires the handler from the Lambda environment (SETPOLL_* variables). */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): PollHandlerDeps {
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
  const authenticator = new ClientAuthenticator({ registry: new RecipientRegistry({ client, tableName }), realm: settings.realm, cacheSeconds: settings.identityCacheSeconds });
  return { store, authenticator, tokens: tokenVerifierFromEnv(env, settings.realm), settings, logger };
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

let wired: PollHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: PollHandler = (event, context) => {
  wired ??= createPollHandler(depsFromEnv());
  return wired(event, context);
};
