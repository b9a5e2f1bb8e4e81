import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { JWK } from 'jose';
import { InvalidRequest } from '../../core/errors.ts';
import { jsonResponse } from '../../http/error-handler.ts';
import { etag, ifMatchVersion, pageParams } from '../../http/request-parts.ts';
import type { Route } from '../../http/router.ts';
import type { BulkOperation, Destination, DestinationService, RegisterDestinationInput, UpdateDestinationInput } from '../../notifier/destinations.ts';
import type { Notification, NotificationInput, NotificationService } from '../../notifier/notifications.ts';
import type { AuthorizationService } from '../../notifier/authorizations.ts';
import type { RecipientReview } from '../../notifier/recipient-review.ts';
import { rejectUnknownMembers } from '../../notifier/validation.ts';
import { isObject } from '../../shared/helpers.ts';

/** `recipient`: the caller is a recipient acting on its own records (scope notifications:recipient). */
export type Access = 'public' | 'read' | 'write' | 'recipient';

export interface Call {
  readonly event: APIGatewayProxyEventV2;
  /** The authenticated client its mTLS certificate is registered to: the Data Provider (the recipient on /recipient/ routes). */
  readonly providerId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** The parsed JSON body, for endpoints that take one. */
  readonly body: unknown;
}

export interface Endpoint {
  readonly access: Access;
  /** Reads a JSON body (Content-Type, size and syntax checked after the caller is known). */
  readonly body?: boolean;
  /** Accepted query parameters; any other is a 400. */
  readonly query?: readonly string[];
  run(call: Call): Promise<APIGatewayProxyStructuredResultV2>;
}

const PAGE = ['limit', 'cursor'] as const;
const DESTINATION_BULK_MEMBERS = new Set(['operations', 'atomic']);
const NOTIFICATION_BULK_MEMBERS = new Set(['notifications', 'operations']);

const destinationPath = (clientId: string) => `/destinations/${encodeURIComponent(clientId)}`;
const notificationPath = (notificationId: string) => `/notifications/${encodeURIComponent(notificationId)}`;

const destinationResponse = (status: number, destination: Destination, headers: Record<string, string> = {}) =>
  jsonResponse(status, destination, { etag: etag(destination.version), ...headers });
const notificationResponse = (status: number, notification: Notification, headers: Record<string, string> = {}) =>
  jsonResponse(status, notification, { etag: etag(notification.version), ...headers });

export interface RouteDeps {
  readonly destinations: DestinationService;
  readonly notifications: NotificationService;
  /** A recipient's consent to Data Providers (the /recipient/ routes). */
  readonly authorizations: AuthorizationService;
  /** A recipient's review of the notifications addressed to it (GET /recipient/notifications). */
  readonly review: RecipientReview;
  /** The public SET verification keys, served at GET /jwks.json. */
  readonly publicKeys: () => Promise<readonly JWK[]>;
  /** Counts notifications created (not safe retries) by a request. */
  readonly countIssued: (created: number) => void;
}

/** The management API's routes: each names its access, its query and body, and the service call. */
export function managementRoutes(deps: RouteDeps): Route<Endpoint>[] {
  const { destinations, notifications, authorizations, review, publicKeys, countIssued } = deps;
  return [
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
          const request = notificationBulkBody(body);
          const result = 'operations' in request ? await notifications.bulk(providerId, request.operations) : await notifications.issueBulk(providerId, request.notifications);
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
    {
      method: 'GET',
      path: '/recipient/notifications',
      value: { access: 'recipient', query: PAGE, run: async ({ providerId: recipientId, query }) => jsonResponse(200, await review.notifications(recipientId, pageParams(query))) },
    },
    {
      method: 'GET',
      path: '/recipient/authorizations',
      value: { access: 'recipient', query: PAGE, run: async ({ providerId: recipientId, query }) => jsonResponse(200, await authorizations.list(recipientId, pageParams(query))) },
    },
    {
      method: 'PUT',
      path: '/recipient/authorizations/{providerId}',
      value: {
        access: 'recipient',
        run: async ({ providerId: recipientId, params }) => {
          const { created, authorization } = await authorizations.authorize(recipientId, params.providerId!, 'recipient');
          return jsonResponse(created ? 201 : 200, authorization);
        },
      },
    },
    {
      method: 'DELETE',
      path: '/recipient/authorizations/{providerId}',
      value: {
        access: 'recipient',
        run: async ({ providerId: recipientId, params }) => {
          const { withdrawn } = await authorizations.deauthorize(recipientId, params.providerId!);
          return jsonResponse(200, { providerId: params.providerId!, withdrawn });
        },
      },
    },
  ];
}

function destinationBulkBody(body: unknown): { operations: readonly BulkOperation[]; atomic: boolean } {
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object');
  rejectUnknownMembers(body, DESTINATION_BULK_MEMBERS, 'the bulk request');
  if (body.atomic !== undefined && typeof body.atomic !== 'boolean') throw new InvalidRequest('atomic must be a boolean');
  if (!Array.isArray(body.operations)) throw new InvalidRequest('operations must be an array of 1 to 100 operations');
  return { operations: body.operations as BulkOperation[], atomic: body.atomic === true };
}

/** `{notifications: [...]}` (each issued) or `{operations: [{op: issue|replace|withdraw, ...}]}`. */
function notificationBulkBody(body: unknown): { notifications: readonly NotificationInput[] } | { operations: readonly unknown[] } {
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object');
  rejectUnknownMembers(body, NOTIFICATION_BULK_MEMBERS, 'the bulk request');
  if ((body.notifications === undefined) === (body.operations === undefined)) throw new InvalidRequest('Give exactly one of notifications and operations');
  if (body.operations !== undefined) {
    if (!Array.isArray(body.operations)) throw new InvalidRequest('operations must be an array of issue, replace and withdraw operations');
    return { operations: body.operations as unknown[] };
  }
  if (!Array.isArray(body.notifications)) throw new InvalidRequest('notifications must be an array of notifications');
  return { notifications: body.notifications as NotificationInput[] };
}
