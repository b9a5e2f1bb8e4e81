/**
 * The real management handler in process, with its real router, body parsing, query checks and
 * Notifier validation, over a DynamoDB client that refuses every call as throttled. A request the
 * handler accepts therefore reaches DynamoDB and is answered 503; one it refuses is answered 400
 * before any DynamoDB call. Anything else means the request was neither: a test failure.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { composeManagement } from '../../lambdas/composition-management.ts';
import type { AccessTokenVerifier } from '../../lambdas/core/access-token.ts';
import type { ClientAuthenticator } from '../../lambdas/core/client-authenticator.ts';
import { DEFAULT_SETTINGS } from '../../lambdas/core/settings.ts';
import { createManagementHandler, type ManagementHandler } from '../../lambdas/handlers/management.ts';
import { createNotifierServices } from '../../lambdas/notifier/services.ts';
import { createSsfServices } from '../../lambdas/ssf/services.ts';
import type { SetSigner } from '../../lambdas/producer/signer.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { lambdaContext, requestTarget } from '../../local/https-server.ts';
import type { ObservedResponse } from './openapi.ts';

export const HARNESS_PROVIDER = 'provider-contract';

/** What the handler made of a request: refused (400), accepted (reached DynamoDB: 503). */
export type Verdict = 'accepted' | 'refused';

export interface HarnessRequest {
  readonly method: string;
  /** Raw (percent-encoded) path. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON text unless already a string. */
  readonly body?: unknown;
}

export interface Harness {
  call(request: HarnessRequest): Promise<ObservedResponse & { json(): unknown }>;
  /** The handler's verdict on a request; throws when the answer is neither 400 nor 503 (200 for a bulk request). */
  verdict(request: HarnessRequest): Promise<Verdict>;
}

/** Every call fails as a throttled DynamoDB call would (the handler answers it 503). */
const THROTTLED = Object.freeze({
  send: async (): Promise<never> => {
    throw Object.assign(new Error('Rate of requests exceeds the allowed throughput (contract test stub)'), { name: 'ThrottlingException' });
  },
}) as unknown as DynamoDBDocumentClient;

export function startHarness(): Harness {
  const tableName = 'contract-no-table';
  const signer: SetSigner = { alg: 'PS256', kid: 'contract', sign: async () => 'never.signed.here' };
  const issuer = 'https://contract.invalid';
  const notifier = createNotifierServices({
    client: THROTTLED,
    tableName,
    queue: new DynamoQueueStore({ client: THROTTLED, tableName }),
    signer,
    issuer,
  });
  // The caller checks are the poll path's, proven elsewhere; here every caller is one provider.
  const authenticator = { authenticate: async () => ({ clientId: HARNESS_PROVIDER, thumbprint: { hex: '00', x5tS256: 'AA' } }) } as unknown as ClientAuthenticator;
  const tokens = { warmUp: () => undefined, verify: async () => ({ clientId: HARNESS_PROVIDER, scopes: ['notifications:write'] }) } as unknown as AccessTokenVerifier;
  const logger = new Logger({ serviceName: 'setpoll-contract', logLevel: 'SILENT' });
  const pollUrl = `${issuer}/events`;
  const { streams } = createSsfServices({ client: THROTTLED, tableName, store: new DynamoQueueStore({ client: THROTTLED, tableName }), signer, issuer, pollUrl });
  // Wired as the management function and the local stack wire it (lambdas/composition-management.ts).
  const handler: ManagementHandler = createManagementHandler(
    composeManagement({ ...notifier, streams, authenticator, tokens, settings: DEFAULT_SETTINGS }, { issuer, pollUrl, publicKeys: async () => [], logger }),
  );

  const call: Harness['call'] = async ({ method, path, query, headers = {}, body }) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const rawQueryString = new URLSearchParams(query ?? {}).toString();
    let rawPath: string;
    try {
      rawPath = requestTarget(path).rawPath;
    } catch {
      // The local server's answer to a path that does not decode (AWS does not document one).
      return { status: 400, headers: {}, body: '', json: () => undefined };
    }
    const event = {
      version: '2.0',
      routeKey: '$default',
      // As API Gateway hands it over: percent-decoded (local/payload-v2.ts).
      rawPath,
      rawQueryString,
      headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(query ? { queryStringParameters: { ...query } } : {}),
      requestContext: {
        http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'contract' },
        authentication: { clientCert: { clientCertPem: 'stub' } },
        requestId: 'contract',
        routeKey: '$default',
        stage: '$default',
      },
      ...(text === undefined ? {} : { body: text }),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const result = (await handler(event, lambdaContext({ functionName: 'contract', timeoutMs: 10_000 }))) as APIGatewayProxyStructuredResultV2;
    const responseBody = typeof result.body === 'string' ? result.body : '';
    return {
      status: result.statusCode ?? 0,
      headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)])),
      body: responseBody,
      json: () => JSON.parse(responseBody) as unknown,
    };
  };

  return {
    call,
    async verdict(request) {
      const res = await call(request);
      // 404: no route for the path as API Gateway decodes it (an id holding an encoded `/`).
      if (res.status === 400 || res.status === 404) return 'refused';
      // A bulk request the handler accepts is answered 200, its items 503 (one by one).
      if (res.status === 503 || (res.status === 200 && request.path.endsWith('/bulk'))) return 'accepted';
      throw new Error(`${request.method} ${request.path} answered ${res.status}, neither 400 nor 503: ${res.body}`);
    },
  };
}
