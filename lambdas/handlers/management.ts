import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { KMSClient } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWK, JWTPayload } from 'jose';
import type { AccessTokenVerifier } from '../core/access-token.ts';
import { ClientAuthenticator } from '../core/client-authenticator.ts';
import { InvalidRequest, ServiceUnavailable, SetpollError } from '../core/errors.ts';
import { DEFAULT_SETTINGS } from '../core/settings.ts';
import { httpErrorHandler, isTransient, jsonResponse } from '../http/error-handler.ts';
import { interactionId, type InteractionState } from '../http/interaction-id.ts';
import { parseJsonBody } from '../http/json-body.ts';
import { etag, ifMatchVersion, pageParams, queryParams } from '../http/request-parts.ts';
import { Router, type Route } from '../http/router.ts';
import { DestinationService, type BulkOperation, type Destination, type RegisterDestinationInput, type UpdateDestinationInput } from '../notifier/destinations.ts';
import { NotificationService, type FanOutScheduler, type Notification, type NotificationInput } from '../notifier/notifications.ts';
import { isObject, rejectUnknownMembers } from '../notifier/validation.ts';
import { MANAGEMENT_METRICS, MANAGEMENT_SERVICE } from '../observability/metric-names.ts';
import { createMetrics, defaultMetrics, flushMetrics, publishMetrics } from '../observability/metrics.ts';
import { currentInteractionId, runWithInteraction } from '../observability/request-context.ts';
import { KmsSigner } from '../producer/kms-signer.ts';
import { assertAlgorithm, type SetAlgorithm, type SetSigner } from '../producer/signer.ts';
import { DEFAULT_SET_ALGORITHM, ENV, NOTIFIER_READ_SCOPES, NOTIFIER_WRITE_SCOPES } from '../contract.ts';
import { createNotifierServices } from '../notifier/services.ts';
import { requiredEnv, servicesFromEnv } from './wiring.ts';

/** Scopes of the management API (lambdas/contract.ts). */
export { NOTIFIER_READ_SCOPES, NOTIFIER_SCOPES, NOTIFIER_WRITE_SCOPES } from '../contract.ts';

/** The async self-invocation that continues a fan-out (FanOutScheduler in AWS). Not HTTP. */
export interface FanOutContinuationEvent {
  readonly setpollFanOut: {
    readonly providerId: string;
    readonly notificationId: string;
    /** `x-fapi-interaction-id` of the request that started the fan-out, logged with every step. */
    readonly interactionId?: string;
  };
}

/** What an echoed interaction id may be (as lambdas/http/interaction-id.ts accepts). */
const SAFE_INTERACTION_ID = /^[\x21-\x7e]{1,128}$/;

export interface ManagementHandlerDeps {
  readonly destinations: DestinationService;
  readonly notifications: NotificationService;
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
}

export type ManagementHandler = (
  event: APIGatewayProxyEventV2 | FanOutContinuationEvent,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

type Access = 'public' | 'read' | 'write';

interface Call {
  readonly event: APIGatewayProxyEventV2;
  /** The authenticated Data Provider: the client its mTLS certificate is registered to. */
  readonly providerId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body, for endpoints that take one. */
  readonly body: unknown;
}

interface Endpoint {
  readonly access: Access;
  /** Reads a JSON body (Content-Type, size and syntax checked after the caller is known). */
  readonly body?: boolean;
  /** Accepted query parameters; any other is a 400. */
  readonly query?: readonly string[];
  run(call: Call): Promise<APIGatewayProxyStructuredResultV2>;
}

/** The documented cap on operations (destinations) or notifications per bulk request. */
export { MAX_BULK_ITEMS } from '../notifier/destinations.ts';

const PAGE = ['limit', 'cursor'] as const;
const DESTINATION_BULK_MEMBERS = new Set(['operations', 'atomic']);
const NOTIFICATION_BULK_MEMBERS = new Set(['notifications']);

const destinationPath = (clientId: string) => `/destinations/${encodeURIComponent(clientId)}`;
const notificationPath = (notificationId: string) => `/notifications/${encodeURIComponent(notificationId)}`;

const destinationResponse = (status: number, destination: Destination, headers: Record<string, string> = {}) =>
  jsonResponse(status, destination, { etag: etag(destination.version), ...headers });
const notificationResponse = (status: number, notification: Notification, headers: Record<string, string> = {}) =>
  jsonResponse(status, notification, { etag: etag(notification.version), ...headers });

/**
 * The Notifier management API (destination lists and notifications of Data Providers) and the
 * fan-out continuation, as a list of small steps: route (404, 405), client certificate, access
 * token bound to it with the endpoint's scope, query, body, service call. Nothing is read from the
 * body before the caller is known. The Data Provider is the client the certificate is registered
 * to, so every read and write is keyed by an authenticated id, never by input.
 */
export function createManagementHandler(deps: ManagementHandlerDeps): ManagementHandler {
  const { destinations, notifications, authenticator, tokens, publicKeys, logger } = deps;
  const maxRequestBytes = deps.maxRequestBytes ?? DEFAULT_SETTINGS.maxRequestBytes;
  const metrics = deps.metrics ?? defaultMetrics(logger, MANAGEMENT_SERVICE);
  /** Notifications created (not safe retries) by a request; flushed with the invocation. */
  const countIssued = (created: number): void => {
    if (created > 0) metrics?.addMetric(MANAGEMENT_METRICS.notificationsIssued, MetricUnit.Count, created);
  };

  const routes: Route<Endpoint>[] = [
    {
      method: 'GET',
      path: '/jwks.json',
      value: {
        access: 'public',
        run: async () => jsonResponse(200, { keys: await publicKeys() }, { 'cache-control': 'max-age=300' }),
      },
    },
    {
      method: 'GET',
      path: '/destinations',
      value: { access: 'read', query: PAGE, run: async ({ providerId, query }) => jsonResponse(200, await destinations.list(providerId, pageParams(query))) },
    },
    {
      method: 'POST',
      path: '/destinations',
      value: {
        access: 'write',
        body: true,
        run: async ({ providerId, body }) => {
          const destination = await destinations.register(providerId, body as RegisterDestinationInput);
          return destinationResponse(201, destination, { location: destinationPath(destination.clientId) });
        },
      },
    },
    {
      method: 'POST',
      path: '/destinations/bulk',
      value: {
        access: 'write',
        body: true,
        run: async ({ providerId, body }) => {
          const { operations, atomic } = destinationBulkBody(body);
          return jsonResponse(200, await destinations.bulk(providerId, operations, { atomic }));
        },
      },
    },
    {
      method: 'GET',
      path: '/destinations/{clientId}',
      value: { access: 'read', run: async ({ providerId, params }) => destinationResponse(200, await destinations.get(providerId, params.clientId!)) },
    },
    {
      method: 'PUT',
      path: '/destinations/{clientId}',
      value: {
        access: 'write',
        body: true,
        run: async ({ providerId, params, body, event }) =>
          destinationResponse(200, await destinations.update(providerId, params.clientId!, body as UpdateDestinationInput, ifMatchVersion(event))),
      },
    },
    {
      method: 'DELETE',
      path: '/destinations/{clientId}',
      value: {
        access: 'write',
        run: async ({ providerId, params, event }) => {
          await destinations.delete(providerId, params.clientId!, ifMatchVersion(event));
          return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
        },
      },
    },
    {
      method: 'GET',
      path: '/notifications',
      value: { access: 'read', query: PAGE, run: async ({ providerId, query }) => jsonResponse(200, await notifications.list(providerId, pageParams(query))) },
    },
    {
      method: 'POST',
      path: '/notifications',
      value: {
        access: 'write',
        body: true,
        run: async ({ providerId, body }) => {
          const result = await notifications.issue(providerId, body as NotificationInput);
          countIssued(result.created ? 1 : 0);
          // 202 while the fan-out goes on in the background (fanOut.pending says so too).
          const status = !result.done ? 202 : result.created ? 201 : 200;
          return notificationResponse(status, result.notification, { location: notificationPath(result.notification.notificationId) });
        },
      },
    },
    {
      method: 'POST',
      path: '/notifications/bulk',
      value: {
        access: 'write',
        body: true,
        run: async ({ providerId, body }) => {
          const result = await notifications.issueBulk(providerId, notificationBulkBody(body));
          countIssued(result.results.filter((r) => r.status === 201).length);
          return jsonResponse(200, result);
        },
      },
    },
    {
      method: 'GET',
      path: '/notifications/{notificationId}',
      value: { access: 'read', run: async ({ providerId, params }) => notificationResponse(200, await notifications.get(providerId, params.notificationId!)) },
    },
    {
      method: 'PUT',
      path: '/notifications/{notificationId}',
      value: {
        access: 'write',
        body: true,
        run: async ({ providerId, params, body, event }) => {
          const result = await notifications.replace(providerId, params.notificationId!, body as NotificationInput, ifMatchVersion(event));
          return notificationResponse(200, result.notification);
        },
      },
    },
    {
      method: 'DELETE',
      path: '/notifications/{notificationId}',
      value: {
        access: 'write',
        run: async ({ providerId, params, event }) => {
          const result = await notifications.withdraw(providerId, params.notificationId!, ifMatchVersion(event));
          return notificationResponse(200, result.notification);
        },
      },
    },
    {
      method: 'GET',
      path: '/notifications/{notificationId}/status',
      value: {
        access: 'read',
        query: PAGE,
        run: async ({ providerId, params, query }) => jsonResponse(200, await notifications.status(providerId, params.notificationId!, pageParams(query))),
      },
    },
  ];
  const router = new Router(routes);

  const manage = async (event: APIGatewayProxyEventV2, context: Context & InteractionState): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ interactionId: context.interactionId, awsRequestId: context.awsRequestId });
    const { route, params } = router.match(event.requestContext?.http?.method ?? '', event.rawPath ?? event.requestContext?.http?.path ?? '');
    const endpoint = route.value;
    const routeKey = `${route.method} ${route.path}`;
    logger.appendKeys({ route: routeKey });
    if (endpoint.access === 'public') return endpoint.run({ event, providerId: '', params, query: {}, body: undefined });

    // As in the poll handler: on a cold start the JWKS fetch runs beside the certificate lookup.
    tokens.warmUp();
    const client = await authenticator.authenticate(event.requestContext.authentication?.clientCert?.clientCertPem);
    logger.appendKeys({ providerId: client.clientId });
    await tokens.verify(event.headers?.authorization, client, endpoint.access === 'write' ? NOTIFIER_WRITE_SCOPES : NOTIFIER_READ_SCOPES);
    const query = queryParams(event, endpoint.query ?? []);
    const body = endpoint.body ? parseJsonBody(event, maxRequestBytes) : undefined;
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

  /**
   * One step of a long fan-out, in a fresh invocation. A failure a retry can fix is thrown, so
   * Lambda's own retry of the async event resumes from the saved cursor (continuations are
   * idempotent); a refusal (no such notification, malformed event) is logged and dropped.
   */
  const continueFanOut = async (event: FanOutContinuationEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ awsRequestId: context.awsRequestId });
    const target = fanOutTarget(event);
    if (!target) {
      logger.error('Malformed fan-out continuation event');
      return { statusCode: 400 };
    }
    const { interactionId: startedBy, ...ids } = target;
    logger.appendKeys({ ...(startedBy ? { interactionId: startedBy } : {}), ...ids });
    try {
      // A further continuation scheduled by this one carries the same interaction id.
      const result = await runWithInteraction(startedBy, () => notifications.continueFanOut(target.providerId, target.notificationId));
      const { queued, skipped, withdrawn } = result.notification.fanOut;
      const { done, scheduled, contended } = result;
      logger.info('Fan-out continued', { ...ids, done, scheduled, contended, queued, skipped, withdrawn });
      metrics?.addMetric(MANAGEMENT_METRICS.fanOutContinuations, MetricUnit.Count, 1);
      metrics?.addMetadata('providerId', target.providerId);
      if (startedBy) metrics?.addMetadata('interactionId', startedBy);
      metrics?.addMetadata('awsRequestId', context.awsRequestId);
      return { statusCode: 200, body: JSON.stringify({ done: result.done, scheduled: result.scheduled, contended: result.contended }) };
    } catch (error) {
      if (error instanceof TypeError || (error instanceof SetpollError && error.statusCode < 500)) {
        logger.error('Fan-out continuation refused', { ...ids, errorName: (error as Error).name, ...(error instanceof SetpollError ? { code: error.code } : {}) });
        return { statusCode: error instanceof SetpollError ? error.statusCode : 400 };
      }
      logger.warn('Fan-out continuation failed; the retry of the event resumes it', { ...ids, errorName: (error as Error)?.name, transient: isTransient(error) });
      throw error;
    } finally {
      flushMetrics(metrics, logger);
    }
  };

  return (event, context) => (isFanOutEvent(event) ? continueFanOut(event, context) : http(event, context));
}

function isFanOutEvent(event: unknown): event is FanOutContinuationEvent {
  return typeof event === 'object' && event !== null && 'setpollFanOut' in event && !('requestContext' in event);
}

function fanOutTarget(event: FanOutContinuationEvent): { providerId: string; notificationId: string; interactionId?: string } | undefined {
  const target: unknown = event.setpollFanOut;
  if (!isObject(target)) return undefined;
  const { providerId, notificationId, interactionId } = target;
  if (typeof providerId !== 'string' || typeof notificationId !== 'string') return undefined;
  // Only ever logged: an id that is not one this service would echo is dropped, not refused.
  const traced = typeof interactionId === 'string' && SAFE_INTERACTION_ID.test(interactionId) ? { interactionId } : {};
  return { providerId, notificationId, ...traced };
}

function destinationBulkBody(body: unknown): { operations: readonly BulkOperation[]; atomic: boolean } {
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object');
  rejectUnknownMembers(body, DESTINATION_BULK_MEMBERS, 'the bulk request');
  if (body.atomic !== undefined && typeof body.atomic !== 'boolean') throw new InvalidRequest('atomic must be a boolean');
  if (!Array.isArray(body.operations)) throw new InvalidRequest('operations must be an array of 1 to 100 operations');
  return { operations: body.operations as BulkOperation[], atomic: body.atomic === true };
}

function notificationBulkBody(body: unknown): readonly NotificationInput[] {
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object');
  rejectUnknownMembers(body, NOTIFICATION_BULK_MEMBERS, 'the bulk request');
  if (!Array.isArray(body.notifications)) throw new InvalidRequest('notifications must be an array of 1 to 100 notifications');
  return body.notifications as NotificationInput[];
}

/**
 * The FanOutScheduler in AWS: an asynchronous invocation (InvocationType Event) of this same
 * function with a FanOutContinuationEvent. Lambda queues the event and retries it on failure.
 */
export class LambdaSelfScheduler implements FanOutScheduler {
  readonly #lambda: Pick<LambdaClient, 'send'>;
  readonly #functionName: string;

  constructor(options: { lambda: Pick<LambdaClient, 'send'>; functionName: string }) {
    if (!options.functionName) throw new TypeError('functionName is required');
    this.#lambda = options.lambda;
    this.#functionName = options.functionName;
  }

  async schedule(providerId: string, notificationId: string): Promise<void> {
    const interactionId = currentInteractionId();
    const event: FanOutContinuationEvent = { setpollFanOut: { providerId, notificationId, ...(interactionId ? { interactionId } : {}) } };
    try {
      await this.#lambda.send(
        new InvokeCommand({ FunctionName: this.#functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
      );
    } catch (error) {
      // The notification is saved with its cursor: repeating the request resumes the fan-out.
      throw new ServiceUnavailable('The rest of the fan-out could not be scheduled; retry the request (an issue with the same notificationId resumes it)', 1, {
        cause: error,
      });
    }
  }
}

/**
 * A signer whose key is loaded on first use (KmsSigner reads the public key from KMS), so a cold
 * start does no network call and a KMS failure is answered by the error middleware (503) rather
 * than crashing the wiring. A failed load is retried on the next use.
 */
export class DeferredSigner<S extends SetSigner & { readonly publicJwk: JWK }> implements SetSigner {
  readonly alg: SetAlgorithm;
  readonly #create: () => Promise<S>;
  #signer: S | undefined;
  #loading: Promise<S> | undefined;

  constructor(alg: SetAlgorithm, create: () => Promise<S>) {
    this.alg = alg;
    this.#create = create;
  }

  /** Known once loaded; read it after `load()`. */
  get kid(): string {
    if (!this.#signer) throw new TypeError('The signing key is not loaded yet: await load() first');
    return this.#signer.kid;
  }

  load(): Promise<S> {
    this.#loading ??= this.#create().then(
      (signer) => (this.#signer = signer),
      (error: unknown) => {
        this.#loading = undefined;
        throw error;
      },
    );
    return this.#loading;
  }

  async sign(claims: JWTPayload): Promise<string> {
    return (await this.load()).sign(claims);
  }
}

/** Wires the handler from the Lambda environment (SETPOLL_* variables and AWS_LAMBDA_FUNCTION_NAME). */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): ManagementHandlerDeps {
  const issuer = requiredEnv(env, ENV.issuer);
  const keyId = requiredEnv(env, ENV.signingKeyId);
  const functionName = requiredEnv(env, ENV.functionName);
  const alg = env[ENV.signingAlg] || DEFAULT_SET_ALGORITHM;
  assertAlgorithm(alg);
  const kms = new KMSClient({});
  const signer = new DeferredSigner(alg, () => KmsSigner.create({ kms, keyId, alg }));
  const scheduler = new LambdaSelfScheduler({ lambda: new LambdaClient({}), functionName });
  const { destinations, notifications, authenticator, tokens, settings, logger } = servicesFromEnv(
    env,
    { settings: [], tokenOptions: false },
    { create: createNotifierServices, signer, issuer, scheduler },
  );
  const metrics = createMetrics({ serviceName: env[ENV.serviceName] ?? MANAGEMENT_SERVICE, logger });
  return {
    destinations,
    notifications,
    authenticator,
    tokens,
    publicKeys: async () => [(await signer.load()).publicJwk],
    logger,
    metrics,
    maxRequestBytes: settings.maxRequestBytes,
  };
}

let wired: ManagementHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: ManagementHandler = (event, context) => {
  wired ??= createManagementHandler(depsFromEnv());
  return wired(event, context);
};
