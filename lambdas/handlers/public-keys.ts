import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { KMSClient } from '@aws-sdk/client-kms';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { JWK } from 'jose';
import { DEFAULT_SET_ALGORITHM, ENV, PUBLIC_KEYS_SERVICE } from '../contract.ts';
import { httpErrorHandler, jsonResponse } from '../http/error-handler.ts';
import { Router } from '../http/router.ts';
import { publishedKeysFromEnv } from '../keys/published-keys-from-env.ts';
import { KmsSigner } from '../producer/kms-signer.ts';
import { assertAlgorithm } from '../producer/signer.ts';
import { DeferredSigner } from '../aws/deferred-signer.ts';
import { requiredEnv } from './wiring.ts';

export const PUBLIC_JWKS_PATH = '/jwks.json';

export interface PublicKeysHandlerDeps {
  readonly publicKeys: () => Promise<readonly JWK[]>;
  readonly logger: Logger;
}

export type PublicKeysHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The handler behind the endpoint that needs no client certificate: it serves the JWKS and nothing
 * else (404 for any other path, 405 for any other method), so a route mistake in front of it can
 * never expose the poll or management API. It reads no body, no header and no query.
 */
export function createPublicKeysHandler(deps: PublicKeysHandlerDeps): PublicKeysHandler {
  const router = new Router([{ method: 'GET', path: PUBLIC_JWKS_PATH, value: true }]);
  const serve = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    router.match(event.requestContext?.http?.method ?? '', event.rawPath ?? '');
    return jsonResponse(200, { keys: await deps.publicKeys() }, { 'cache-control': 'public, max-age=300' });
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>()
    .use(httpErrorHandler({ logger: deps.logger }))
    .handler(serve) as unknown as PublicKeysHandler;
}

/** Wires the handler from the Lambda environment (PUBLIC_KEYS_FUNCTION_ENV in lambdas/contract.ts). */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): PublicKeysHandlerDeps {
  const keyId = requiredEnv(env, ENV.signingKeyId);
  const alg = env[ENV.signingAlg] || DEFAULT_SET_ALGORITHM;
  assertAlgorithm(alg);
  const kms = new KMSClient({});
  const signer = new DeferredSigner(alg, () => KmsSigner.create({ kms, keyId, alg }));
  const keySet = publishedKeysFromEnv(env, async () => [(await signer.load()).publicJwk]);
  return { publicKeys: () => keySet.keys(), logger: new Logger({ serviceName: env[ENV.serviceName] ?? PUBLIC_KEYS_SERVICE }) };
}

let wired: PublicKeysHandler | undefined;

/** The Lambda entry point; wired on first use so importing this module has no side effects. */
export const handler: PublicKeysHandler = (event, context) => {
  wired ??= createPublicKeysHandler(depsFromEnv());
  return wired(event, context);
};
