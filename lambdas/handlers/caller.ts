import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { AccessTokenVerifier } from '../core/access-token.ts';
import type { AuthenticatedClient, ClientAuthenticator } from '../core/client-authenticator.ts';

export interface CallerChecks {
  readonly authenticator: ClientAuthenticator;
  readonly tokens: AccessTokenVerifier;
  readonly logger: Logger;
}

/**
 * The caller of an mTLS endpoint (poll, management, SSF): the client its certificate is registered
 * to, holding an access token bound to that certificate with one of `scopes` (the verifier's own
 * when omitted). From the certificate on, the log lines name the caller under `logKey`, so a
 * refused token is logged with who sent it.
 */
export async function authenticateCaller(
  event: APIGatewayProxyEventV2,
  checks: CallerChecks,
  logKey: 'clientId' | 'providerId',
  scopes?: readonly string[],
): Promise<AuthenticatedClient> {
  const { authenticator, tokens, logger } = checks;
  // On a cold start the JWKS fetch then runs beside the certificate lookup, not after it.
  tokens.warmUp();
  const client = await authenticator.authenticate(event.requestContext.authentication?.clientCert?.clientCertPem);
  logger.appendKeys({ [logKey]: client.clientId });
  await tokens.verify(event.headers?.authorization, client, scopes);
  return client;
}
