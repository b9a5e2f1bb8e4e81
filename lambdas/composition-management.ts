/**
 * The composition root's second step, for the management function and the local stack alike: the
 * management handler's dependencies from the composed services (composition.ts). Apart from
 * composition.ts because the poll function's bundle imports that module and needs none of this.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { JWK } from 'jose';
import type { Services } from './composition.ts';
import { JWKS_PATH } from './contract.ts';
import type { ManagementHandlerDeps } from './handlers/management.ts';
import { createSsfHandler } from './handlers/ssf.ts';
import type { NotifierServices } from './notifier/services.ts';
import type { SsfServices } from './ssf/services.ts';

/** The services the management handler serves: the Notifier's, and the SSF streams when SSF is on. */
export type ManagementServices = NotifierServices & Partial<SsfServices> & Pick<Services, 'settings' | 'authenticator' | 'tokens'>;

export interface ManagementInputs {
  /** The SETs' `iss`: the SSF metadata's `issuer`. */
  readonly issuer: string;
  /**
   * The poll endpoint (every stream's `endpoint_url`). Its origin, the mTLS domain, also serves the
   * signing keys at JWKS_PATH: the SSF metadata's `jwks_uri`. Without it no SSF routes are served.
   */
  readonly pollUrl?: string;
  /** The public SET verification keys, served at GET /jwks.json. */
  readonly publicKeys: () => Promise<readonly JWK[]>;
  readonly logger: Logger;
  /** @default createManagementHandler's (ManagementHandlerDeps.metrics) */
  readonly metrics?: Metrics;
}

/** The management handler's dependencies: the services, and the SSF routes when there are streams to serve. */
export function composeManagement(services: ManagementServices, inputs: ManagementInputs): ManagementHandlerDeps {
  const { destinations, notifications, authorizations, review, authenticator, tokens, streams, settings } = services;
  const { issuer, pollUrl, publicKeys, logger, metrics } = inputs;
  const { maxRequestBytes } = settings;
  const ssf =
    streams && pollUrl
      ? createSsfHandler({ streams, authenticator, tokens, issuer, jwksUri: `${new URL(pollUrl).origin}${JWKS_PATH}`, logger, maxRequestBytes })
      : undefined;
  return {
    destinations,
    notifications,
    authorizations,
    review,
    authenticator,
    tokens,
    publicKeys,
    logger,
    maxRequestBytes,
    ...(metrics ? { metrics } : {}),
    ...(ssf ? { ssf } : {}),
  };
}
