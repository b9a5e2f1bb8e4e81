import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { AccessTokenVerifier } from '../core/access-token.ts';
import type { ClientAuthenticator } from '../core/client-authenticator.ts';
import { parsePollRequest } from '../core/poll-request.ts';
import { PollService } from '../core/poll-service.ts';
import type { PollSettings } from '../core/settings.ts';
import { httpErrorHandler, jsonResponse } from '../http/error-handler.ts';
import { interactionId, type InteractionState } from '../http/interaction-id.ts';
import { parseJsonBody, requireMethod } from '../http/json-body.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { sharedDepsFromEnv } from './wiring.ts';

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
  const { store, authenticator, tokens, settings, logger } = sharedDepsFromEnv(env);
  return { store, authenticator, tokens, settings, logger };
}

let wired: PollHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: PollHandler = (event, context) => {
  wired ??= createPollHandler(depsFromEnv());
  return wired(event, context);
};
