import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { AccessTokenVerifier } from '../core/access-token.ts';
import type { ClientAuthenticator } from '../core/client-authenticator.ts';
import { parsePollRequest } from '../core/poll-request.ts';
import { PollService } from '../core/poll-service.ts';
import { POLL_SETTING_KEYS, type PollSettings } from '../core/settings.ts';
import { httpErrorHandler, jsonResponse } from '../http/error-handler.ts';
import { interactionId, type InteractionState } from '../http/interaction-id.ts';
import { parseJsonBody, requireMethod } from '../http/json-body.ts';
import { POLL_SERVICE } from '../observability/metric-names.ts';
import { createMetrics, defaultMetrics, pollVariant, publishMetrics, recordPoll } from '../observability/metrics.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { ENV } from '../contract.ts';
import { deadlineOf, runWithDeadline } from '../runtime/deadline.ts';
import { authenticateCaller } from './caller.ts';
import { servicesFromEnv } from './wiring.ts';

export interface PollHandlerDeps {
  readonly store: QueueStore;
  readonly authenticator: ClientAuthenticator;
  readonly tokens: AccessTokenVerifier;
  readonly settings: PollSettings;
  readonly logger: Logger;
  /**
   * Where the poll metrics go (CloudWatch EMF, flushed once per invocation).
   * @default a Metrics object for namespace `setpoll`, service `setpoll`; none when the logger is SILENT
   */
  readonly metrics?: Metrics;
  /** Epoch milliseconds, for the poll service (leases, expiry). @default Date.now */
  readonly now?: () => number;
}

export type PollHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The RFC 8936 poll endpoint as a list of small steps: method, client certificate, access token
 * bound to that certificate, body, poll. Nothing is read from the body before the caller is known.
 */
export function createPollHandler(deps: PollHandlerDeps): PollHandler {
  const { store, settings, logger } = deps;
  const metrics = deps.metrics ?? defaultMetrics(logger, POLL_SERVICE);
  const service = new PollService({ store, settings, ...(deps.now ? { now: deps.now } : {}) });

  const poll = async (event: APIGatewayProxyEventV2, context: Context & InteractionState): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ interactionId: context.interactionId, awsRequestId: context.awsRequestId });
    requireMethod(event, 'POST');
    const client = await authenticateCaller(event, deps, 'clientId');
    const request = parsePollRequest(parseJsonBody(event, settings.maxRequestBytes), { maxAnswers: settings.maxInFlight });
    const lang = event.headers?.['content-language'];
    const outcome = await service.poll(client.clientId, request, lang ? { lang: lang.slice(0, 64) } : {});
    const variant = pollVariant(request);
    const { stats } = outcome;
    // Counts and ids only: never SET contents, tokens or setErrs descriptions. The recipient
    // (clientId) is a key of the line, so its `oldestAgeMs` answers "whose backlog is old?".
    logger.info('Poll answered', { ...stats, variant, returnImmediately: request.returnImmediately, maxEvents: request.maxEvents });
    if (stats.redeliveredAfterAcks > 0) {
      // docs/server-policies.md › receivers: SETs sent in answer to an ack request came back unacked.
      logger.warn('SETs redelivered after an ack request', {
        redeliveredAfterAcks: stats.redeliveredAfterAcks,
        hint: 'SETs that answered a request carrying ack or setErrs came back unacknowledged: send maxEvents 0 with acks that want no SETs, or process the SETs in the response',
      });
    }
    recordPoll(metrics, {
      variant,
      returnImmediately: request.returnImmediately,
      stats,
      ids: { clientId: client.clientId, interactionId: context.interactionId, awsRequestId: context.awsRequestId },
    });
    return jsonResponse(200, { sets: outcome.sets, moreAvailable: outcome.moreAvailable });
  };

  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context & InteractionState>()
    // First, so that its after/onError run last: at most one EMF line per invocation (none for a rejected request).
    .use(publishMetrics(metrics, logger))
    .use(interactionId())
    .use(httpErrorHandler({ logger }))
    .handler(poll) as unknown as PollHandler;
  // Every AWS call of the invocation ends in time to answer 503 (lambdas/runtime/deadline.ts).
  return (event, context) => runWithDeadline(deadlineOf(context), () => handler(event, context));
}

/** Wires the handler from the Lambda environment (SETPOLL_* variables). */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): PollHandlerDeps {
  const { store, authenticator, tokens, settings, logger } = servicesFromEnv(env, {
    settings: POLL_SETTING_KEYS,
    tokenOptions: true,
  });
  const metrics = createMetrics({ serviceName: env[ENV.serviceName] ?? POLL_SERVICE, logger });
  return { store, authenticator, tokens, settings, logger, metrics };
}

let wired: PollHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: PollHandler = (event, context) => {
  wired ??= createPollHandler(depsFromEnv());
  return wired(event, context);
};
