import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWK } from 'jose';
import { LambdaSelfScheduler } from '../aws/lambda-self-scheduler.ts';
import { composeManagement } from '../composition-management.ts';
import { ENV, NOTIFIER_READ_SCOPES, NOTIFIER_RECIPIENT_SCOPES, NOTIFIER_WRITE_SCOPES } from '../contract.ts';
import type { AccessTokenVerifier } from '../core/access-token.ts';
import type { ClientAuthenticator } from '../core/client-authenticator.ts';
import { DEFAULT_SETTINGS } from '../core/settings.ts';
import { httpErrorHandler } from '../http/error-handler.ts';
import { interactionId, type InteractionState } from '../http/interaction-id.ts';
import { parseJsonBody } from '../http/json-body.ts';
import { limitsFromEnv } from '../notifier/limits.ts';
import { queryParams } from '../http/request-parts.ts';
import { Router } from '../http/router.ts';
import type { DestinationService } from '../notifier/destinations.ts';
import type { NotificationService } from '../notifier/notifications.ts';
import { createNotifierServices } from '../notifier/services.ts';
import { MANAGEMENT_METRICS, MANAGEMENT_SERVICE } from '../observability/metric-names.ts';
import { createMetrics, defaultMetrics, publishMetrics } from '../observability/metrics.ts';
import { runWithInteraction } from '../observability/request-context.ts';
import { publishedKeysFromEnv } from '../keys/published-keys-from-env.ts';
import { authenticateCaller } from './caller.ts';
import { createContinuationHandler, isFanOutEvent, type FanOutContinuationEvent } from './management/continuation.ts';
import { managementRoutes, type Access } from './management/routes.ts';
import type { AuthorizationService } from '../notifier/authorizations.ts';
import type { RecipientReview } from '../notifier/recipient-review.ts';
import { deadlineOf, runWithDeadline, withDeadline } from '../runtime/deadline.ts';
import { createSsfServices } from '../ssf/services.ts';
import { isSsfPath, type SsfHandler } from './ssf.ts';
import { kmsSignerFromEnv } from './kms-signer-from-env.ts';
import { requiredEnv, servicesFromEnv } from './wiring.ts';

/**
 * The management function's entry point: the HTTP pipeline (routes in management/routes.ts), the
 * fan-out continuation (management/continuation.ts), and the wiring from the Lambda environment.
 */

/** Scopes of the management API (lambdas/contract.ts). */
export { NOTIFIER_READ_SCOPES, NOTIFIER_SCOPES, NOTIFIER_WRITE_SCOPES } from '../contract.ts';
export { DeferredSigner } from '../aws/deferred-signer.ts';
export { LambdaSelfScheduler } from '../aws/lambda-self-scheduler.ts';
export type { FanOutContinuationEvent } from './management/continuation.ts';
/** The documented cap on operations (destinations) or notifications per bulk request. */
export { MAX_BULK_ITEMS } from '../notifier/destinations.ts';

const SCOPES: Record<Exclude<Access, 'public'>, readonly string[]> = { read: NOTIFIER_READ_SCOPES, write: NOTIFIER_WRITE_SCOPES, recipient: NOTIFIER_RECIPIENT_SCOPES };

export interface ManagementHandlerDeps {
  readonly destinations: DestinationService;
  readonly notifications: NotificationService;
  /** A recipient's consent to Data Providers (the /recipient/ routes). */
  readonly authorizations: AuthorizationService;
  readonly review: RecipientReview;
  readonly authenticator: ClientAuthenticator;
  /** Verifies the access token; the handler passes the endpoint's scopes to every call. */
  readonly tokens: AccessTokenVerifier;
  /** The public SET verification keys, served at GET /jwks.json. */
  readonly publicKeys: () => Promise<readonly JWK[]>;
  readonly logger: Logger;
  /**
   * Where the management metrics go (CloudWatch EMF, flushed once per invocation).
   * @default a Metrics object for namespace `setpoll`, service `setpoll-management`; none when the logger is SILENT
   */
  readonly metrics?: Metrics;
  /** Request body cap; larger bodies get 413. @default 1 MiB (SETPOLL_MAX_REQUEST_BYTES) */
  readonly maxRequestBytes?: number;
  /** The SSF transmitter's routes (discovery, streams), served by this same function. @default none */
  readonly ssf?: SsfHandler;
}

export type ManagementHandler = (
  event: APIGatewayProxyEventV2 | FanOutContinuationEvent,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The Notifier management API (destination lists and notifications of Data Providers) and the
 * fan-out continuation, as a list of small steps: route (404, 405), client certificate, access
 * token bound to it with the endpoint's scope, query, body, service call. Nothing is read from the
 * body before the caller is known. The Data Provider is the client the certificate is registered
 * to, so every read and write is keyed by an authenticated id, never by input.
 */
export function createManagementHandler(deps: ManagementHandlerDeps): ManagementHandler {
  const { destinations, notifications, authorizations, review, publicKeys, logger } = deps;
  const maxRequestBytes = deps.maxRequestBytes ?? DEFAULT_SETTINGS.maxRequestBytes;
  const metrics = deps.metrics ?? defaultMetrics(logger, MANAGEMENT_SERVICE);
  /** Notifications created (not safe retries) by a request; flushed with the invocation. */
  const countIssued = (created: number): void => {
    if (created > 0) metrics?.addMetric(MANAGEMENT_METRICS.notificationsIssued, MetricUnit.Count, created);
  };

  const router = new Router(managementRoutes({ destinations, notifications, authorizations, review, publicKeys, countIssued }));

  const manage = async (event: APIGatewayProxyEventV2, context: Context & InteractionState): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ interactionId: context.interactionId, awsRequestId: context.awsRequestId });
    const { route, params } = router.match(event.requestContext?.http?.method ?? '', event.rawPath ?? event.requestContext?.http?.path ?? '');
    const endpoint = route.value;
    const routeKey = `${route.method} ${route.path}`;
    logger.appendKeys({ route: routeKey });
    if (endpoint.access === 'public') return endpoint.run({ event, providerId: '', params, query: {}, body: undefined });

    const client = await authenticateCaller(event, deps, 'providerId', SCOPES[endpoint.access]);
    const query = queryParams(event, endpoint.query ?? []);
    // Claims must reach the SET as the numbers sent: one a double would change is a 400, not a silent rounding.
    const body = endpoint.body ? parseJsonBody(event, maxRequestBytes, { exactNumbers: true }) : undefined;
    // The interaction id travels on into a fan-out continuation this request schedules.
    const response = await runWithInteraction(context.interactionId, () => endpoint.run({ event, providerId: client.clientId, params, query, body }));
    // Named on the line itself too: the local stack runs continuations beside requests in one process.
    logger.info('Management request answered', { route: routeKey, providerId: client.clientId, status: response.statusCode });
    if (metrics?.hasStoredMetrics()) {
      metrics.addMetadata('providerId', client.clientId);
      if (context.interactionId) metrics.addMetadata('interactionId', context.interactionId);
      metrics.addMetadata('awsRequestId', context.awsRequestId);
    }
    return response;
  };

  const http = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context & InteractionState>()
    // First, so that its after/onError run last: at most one EMF line per invocation.
    .use(publishMetrics(metrics, logger))
    .use(interactionId())
    .use(httpErrorHandler({ logger }))
    .handler(manage) as unknown as (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

  const continueFanOut = createContinuationHandler({ notifications, logger, metrics });
  const { ssf } = deps;
  // Every AWS call of the invocation ends in time to answer 503 (lambdas/runtime/deadline.ts).
  return (event, context) =>
    runWithDeadline(deadlineOf(context), () => {
      if (isFanOutEvent(event)) return continueFanOut(event, context);
      return ssf && isSsfPath(event.rawPath ?? '') ? ssf(event, context) : http(event, context);
    });
}

/** Wires the handler from the Lambda environment (SETPOLL_* variables and AWS_LAMBDA_FUNCTION_NAME). */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): ManagementHandlerDeps {
  const issuer = requiredEnv(env, ENV.issuer);
  const signer = kmsSignerFromEnv(env, withDeadline(new KMSClient({})));
  const functionName = requiredEnv(env, ENV.functionName);
  const scheduler = new LambdaSelfScheduler({ lambda: withDeadline(new LambdaClient({})), functionName });
  // SSF is on when the poll URL (every stream's endpoint_url) is known; then every enqueue passes the stream filter.
  const pollUrl = env[ENV.pollUrl];
  const services = servicesFromEnv(
    env,
    { settings: [], tokenOptions: false },
    { create: createNotifierServices, signer, issuer, scheduler, limits: limitsFromEnv(env) },
    pollUrl ? { create: createSsfServices, signer, issuer, pollUrl } : undefined,
  );
  const { logger } = services;
  const keySet = publishedKeysFromEnv(env, async () => [(await signer.load()).publicJwk]);
  return composeManagement(services, {
    issuer,
    ...(pollUrl ? { pollUrl } : {}),
    publicKeys: () => keySet.keys(),
    logger,
    metrics: createMetrics({ serviceName: env[ENV.serviceName] ?? MANAGEMENT_SERVICE, logger }),
  });
}

let wired: ManagementHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: ManagementHandler = (event, context) => {
  wired ??= createManagementHandler(depsFromEnv());
  return wired(event, context);
};
