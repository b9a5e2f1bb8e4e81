import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK, type JWK } from 'jose';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { thumbprintOfPem } from '../lambdas/core/certificate.ts';
import { DEFAULT_POLL_SCOPES } from '../lambdas/core/access-token.ts';
import type { CertificateLookup } from '../lambdas/core/client-authenticator.ts';
import { publicJwk } from '../lambdas/producer/signer.ts';

export interface AuthorizationServerOptions {
  /** The AS signing key (private JWK with alg and kid). */
  readonly key: JWK;
  readonly issuer: string;
  /** `aud` of issued tokens: the poll endpoint's resource identifier. */
  readonly audience: string;
  /** Which registered client may ask for which scopes. */
  readonly registry: CertificateLookup;
  /** Scopes a registered client may request when `allowedScopes` does not name it. @default the OB polling scopes */
  readonly defaultScopes?: readonly string[];
  readonly allowedScopes?: Readonly<Record<string, readonly string[]>>;
  /** Scopes a client `allowedScopes` does not name may ask for explicitly, on top of `defaultScopes`. @default none */
  readonly optionalScopes?: readonly string[];
  /** @default 300 */
  readonly tokenLifetimeSeconds?: number;
  readonly now?: () => number;
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' },
  body: JSON.stringify(body),
});

/** RFC 6749 §5.2 error response. */
const oauthError = (statusCode: number, error: string, description: string) => json(statusCode, { error, error_description: description });

/**
 * The local stack's OAuth 2.0 token endpoint: client credentials grant with RFC 8705
 * `tls_client_auth`. The client is the recipient its mTLS certificate is registered to, and the
 * token is bound to that certificate with `cnf.x5t#S256`. It stands in for the bank's own
 * authorization server, which a deployment points at with SETPOLL_TOKEN_* settings.
 */
export function createAuthorizationServer(options: AuthorizationServerOptions) {
  const { issuer, audience, registry } = options;
  const lifetime = options.tokenLifetimeSeconds ?? 300;
  const now = options.now ?? Date.now;
  const keyPromise = importJWK(options.key, options.key.alg);
  const jwks = { keys: [publicJwk(options.key)] };

  async function token(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    if (event.requestContext.http.method !== 'POST') {
      // RFC 9110 §15.5.6: a 405 names the methods the resource allows.
      const refused = oauthError(405, 'invalid_request', 'Use POST');
      return { ...refused, headers: { ...refused.headers, allow: 'POST' } };
    }
    const contentType = (event.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded') {
      return oauthError(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded');
    }
    const raw = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
    const form = new URLSearchParams(raw);
    for (const name of new Set(form.keys())) {
      if (form.getAll(name).length > 1) return oauthError(400, 'invalid_request', `Parameter ${name} is repeated`);
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'Only client_credentials is supported');
    }

    // RFC 8705 §2.1.1: the client authenticates with the certificate registered to it.
    const pem = event.requestContext.authentication?.clientCert?.clientCertPem;
    const thumbprint = pem ? thumbprintOfPem(pem) : undefined;
    const status = thumbprint ? await registry.lookup(thumbprint.hex) : undefined;
    const clientId = form.get('client_id');
    if (!thumbprint || !status?.clientId || status.revoked || (clientId !== null && clientId !== status.clientId)) {
      return oauthError(401, 'invalid_client', 'Client authentication failed');
    }

    // Own properties only: a client registered as `constructor` or `__proto__` must not read Object.prototype.
    const named = options.allowedScopes && Object.hasOwn(options.allowedScopes, status.clientId) ? options.allowedScopes[status.clientId] : undefined;
    const granted = named ?? options.defaultScopes ?? DEFAULT_POLL_SCOPES;
    const allowed = named ?? [...granted, ...(options.optionalScopes ?? [])];
    const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const scopes = requested.length === 0 ? [...granted] : [...new Set(requested)];
    if (!scopes.every((s) => allowed.includes(s))) {
      return oauthError(400, 'invalid_scope', 'A requested scope is not allowed for this client');
    }

    const iat = Math.floor(now() / 1000);
    const accessToken = await new SignJWT({
      client_id: status.clientId,
      scope: scopes.join(' '),
      cnf: { 'x5t#S256': thumbprint.x5tS256 },
    })
      .setProtectedHeader({ alg: options.key.alg!, kid: options.key.kid!, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(status.clientId)
      .setAudience(audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + lifetime)
      .setJti(randomUUID())
      .sign(await keyPromise);
    return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: scopes.join(' ') });
  }

  async function keys(): Promise<APIGatewayProxyStructuredResultV2> {
    return { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'max-age=300' }, body: JSON.stringify(jwks) };
  }

  return { token, keys, jwks };
}
