import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { KMSClient } from '@aws-sdk/client-kms';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWK } from 'jose';
import { ENV, JWKS_PATH, PUBLIC_KEYS_SERVICE } from '../contract.ts';
import { httpErrorHandler, jsonResponse } from '../http/error-handler.ts';
import { Router } from '../http/router.ts';
import { publishedKeysFromEnv } from '../keys/published-keys-from-env.ts';
import { METADATA_HEADERS, transmitterMetadata, type MetadataOptions } from '../ssf/metadata.ts';
import { discoveryPath } from '../ssf/vocabulary.ts';
import { kmsSignerFromEnv } from './kms-signer-from-env.ts';

export interface PublicKeysHandlerDeps {
  readonly publicKeys: () => Promise<readonly JWK[]>;
  readonly logger: Logger;
  /**
   * The SSF transmitter metadata, served here too (GET at the issuer's discovery path) so that a
   * receiver can read it without a client certificate; its `jwks_uri` is this endpoint's JWKS.
   * @default none (the JWKS only)
   */
  readonly ssfMetadata?: MetadataOptions;
}

export type PublicKeysHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The handler behind the endpoint that needs no client certificate: it serves the JWKS and, when
 * given, the SSF metadata, and nothing else (404 for any other path, 405 for any other method), so
 * a route mistake in front of it can never expose the poll or management API. It reads no body, no
 * header and no query.
 */
export function createPublicKeysHandler(deps: PublicKeysHandlerDeps): PublicKeysHandler {
  const { ssfMetadata } = deps;
  const metadata = ssfMetadata ? JSON.stringify(transmitterMetadata(ssfMetadata)) : undefined;
  const router = new Router<'jwks' | 'ssf'>([
    { method: 'GET', path: JWKS_PATH, value: 'jwks' },
    ...(ssfMetadata ? [{ method: 'GET', path: discoveryPath(ssfMetadata.issuer), value: 'ssf' as const }] : []),
  ]);
  const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const { route } = router.match(event.requestContext?.http?.method ?? '', event.rawPath ?? '');
    if (route.value === 'ssf') return { statusCode: 200, headers: { ...METADATA_HEADERS }, body: metadata! };
    return jsonResponse(200, { keys: await deps.publicKeys() }, { 'cache-control': 'public, max-age=300' });
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(httpErrorHandler({ logger: deps.logger }))
    .handler(serve) as unknown as PublicKeysHandler;
}

/** Wires the handler from the Lambda environment (PUBLIC_KEYS_FUNCTION_ENV in lambdas/contract.ts). */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): PublicKeysHandlerDeps {
  const signer = kmsSignerFromEnv(env, new KMSClient({}));
  const keySet = publishedKeysFromEnv(env, async () => [(await signer.load()).publicJwk]);
  // Both set (lib/constructs/public-jwks.ts) when the deployment is an SSF transmitter.
  const issuer = env[ENV.issuer];
  const jwksUri = env[ENV.publicJwksUrl];
  return {
    publicKeys: () => keySet.keys(),
    logger: new Logger({ serviceName: env[ENV.serviceName] ?? PUBLIC_KEYS_SERVICE }),
    ...(issuer && jwksUri ? { ssfMetadata: { issuer, jwksUri } } : {}),
  };
}

let wired: PublicKeysHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: PublicKeysHandler = (event, context) => {
  wired ??= createPublicKeysHandler(depsFromEnv());
  return wired(event, context);
};
