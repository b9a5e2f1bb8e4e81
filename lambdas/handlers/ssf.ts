import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { AccessTokenVerifier } from '../core/access-token.ts';
import type { ClientAuthenticator } from '../core/client-authenticator.ts';
import { DEFAULT_SETTINGS } from '../core/settings.ts';
import { httpErrorHandler, jsonResponse } from '../http/error-handler.ts';
import { interactionId, type InteractionState } from '../http/interaction-id.ts';
import { parseJsonBody } from '../http/json-body.ts';
import { queryParams } from '../http/request-parts.ts';
import { Router, type Route } from '../http/router.ts';
import { METADATA_HEADERS, transmitterMetadata } from '../ssf/metadata.ts';
import { streamIdOf } from '../ssf/stream-request.ts';
import type { StreamService } from '../ssf/stream-service.ts';
import {
  SSF_PATHS,
  SSF_READ_SCOPES,
  SSF_PREFIX,
  SSF_WRITE_SCOPES,
  WELL_KNOWN_SSF,
  discoveryPath,
} from '../ssf/vocabulary.ts';
import { authenticateCaller } from './caller.ts';

export interface SsfHandlerDeps {
  readonly streams: StreamService;
  readonly authenticator: ClientAuthenticator;
  readonly tokens: AccessTokenVerifier;
  /** The SETs' `iss`: the metadata's `issuer`, and where the discovery path is derived from. */
  readonly issuer: string;
  /** Where the SET signing keys are published. */
  readonly jwksUri: string;
  /** The mTLS origin the management endpoints are served on. @default the issuer's origin */
  readonly endpointBase?: string;
  readonly logger: Logger;
  /** @default 1 MiB */
  readonly maxRequestBytes?: number;
}

export type SsfHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

type Access = 'public' | 'read' | 'write';

interface Call {
  readonly clientId: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
}

interface Endpoint {
  readonly access: Access;
  readonly body?: boolean;
  readonly query?: readonly string[];
  run(call: Call): Promise<APIGatewayProxyStructuredResultV2>;
}

const NO_CONTENT: APIGatewayProxyStructuredResultV2 = { statusCode: 204, headers: { 'cache-control': 'no-store' } };
const STREAM_ID = ['stream_id'] as const;

/**
 * The SSF transmitter's HTTP surface: discovery (no token), and the stream configuration, status
 * and verification endpoints for receivers, each with the receiver's certificate-bound token
 * (`ssf.manage` for changes, `ssf.read` or `ssf.manage` for reads). As in the other handlers,
 * nothing is read from the body before the caller is known, and every stream is keyed by the
 * authenticated client id.
 */
export function createSsfHandler(deps: SsfHandlerDeps): SsfHandler {
  const { streams, logger } = deps;
  const maxRequestBytes = deps.maxRequestBytes ?? DEFAULT_SETTINGS.maxRequestBytes;
  const metadata = JSON.stringify(transmitterMetadata(deps));

  const routes: Route<Endpoint>[] = [
    {
      method: 'GET',
      path: discoveryPath(deps.issuer),
      value: {
        access: 'public',
        run: async () => ({ statusCode: 200, headers: { ...METADATA_HEADERS }, body: metadata }),
      },
    },
    {
      method: 'GET',
      path: SSF_PATHS.configuration,
      value: {
        access: 'read',
        query: STREAM_ID,
        run: async ({ clientId, query }) =>
          jsonResponse(200, query.stream_id === undefined ? await streams.list(clientId) : await streams.get(clientId, streamIdOf(query.stream_id))),
      },
    },
    { method: 'POST', path: SSF_PATHS.configuration, value: { access: 'write', body: true, run: async ({ clientId, body }) => jsonResponse(201, await streams.create(clientId, body)) } },
    { method: 'PATCH', path: SSF_PATHS.configuration, value: { access: 'write', body: true, run: async ({ clientId, body }) => jsonResponse(200, await streams.update(clientId, body, 'update')) } },
    { method: 'PUT', path: SSF_PATHS.configuration, value: { access: 'write', body: true, run: async ({ clientId, body }) => jsonResponse(200, await streams.update(clientId, body, 'replace')) } },
    {
      method: 'DELETE',
      path: SSF_PATHS.configuration,
      value: {
        access: 'write',
        query: STREAM_ID,
        run: async ({ clientId, query }) => {
          await streams.delete(clientId, streamIdOf(query.stream_id, 'The stream_id query parameter'));
          return NO_CONTENT;
        },
      },
    },
    {
      method: 'GET',
      path: SSF_PATHS.status,
      value: { access: 'read', query: STREAM_ID, run: async ({ clientId, query }) => jsonResponse(200, await streams.status(clientId, streamIdOf(query.stream_id, 'The stream_id query parameter'))) },
    },
    { method: 'POST', path: SSF_PATHS.status, value: { access: 'write', body: true, run: async ({ clientId, body }) => jsonResponse(200, await streams.setStatus(clientId, body)) } },
    {
      method: 'POST',
      path: SSF_PATHS.verification,
      value: {
        access: 'write',
        body: true,
        run: async ({ clientId, body }) => {
          await streams.verify(clientId, body);
          return NO_CONTENT;
        },
      },
    },
  ];
  const router = new Router(routes);

  const serve = async (event: APIGatewayProxyEventV2, context: Context & InteractionState): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ interactionId: context.interactionId, awsRequestId: context.awsRequestId });
    const { route } = router.match(event.requestContext?.http?.method ?? '', event.rawPath ?? event.requestContext?.http?.path ?? '');
    const endpoint = route.value;
    const routeKey = `${route.method} ${route.path}`;
    logger.appendKeys({ route: routeKey });
    if (endpoint.access === 'public') return endpoint.run({ clientId: '', query: {}, body: undefined });

    const client = await authenticateCaller(event, deps, 'clientId', endpoint.access === 'write' ? SSF_WRITE_SCOPES : SSF_READ_SCOPES);
    const query = queryParams(event, endpoint.query ?? []);
    const body = endpoint.body ? parseJsonBody(event, maxRequestBytes) : undefined;
    const response = await endpoint.run({ clientId: client.clientId, query, body });
    logger.info('SSF request answered', { route: routeKey, status: response.statusCode });
    return response;
  };

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context & InteractionState>()
    .use(interactionId())
    .use(httpErrorHandler({ logger }))
    .handler(serve) as unknown as SsfHandler;
}

/** Whether a path is one of the SSF transmitter's (the management function serves them too). */
export function isSsfPath(path: string): boolean {
  return path === WELL_KNOWN_SSF || path.startsWith(`${WELL_KNOWN_SSF}/`) || path.startsWith(`${SSF_PREFIX}/`);
}
