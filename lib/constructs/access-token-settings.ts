/**
 * How the poll and management functions verify OAuth 2.0 access tokens: the settings both take,
 * checked at synth, and the environment that carries them to the handler (lambdas/contract.ts ENV).
 */
import { ENV } from '../../lambdas/contract.ts';
import { requireHttpsUrl, requireNonEmpty } from './validation.ts';

export interface AccessTokenSettings {
  /** JWKS of the authorization server that issues the access tokens (https). */
  readonly tokenJwksUrl: string;
  /** Expected `iss` of access tokens. */
  readonly tokenIssuer: string;
  /** Expected `aud` of access tokens. */
  readonly tokenAudience: string;
  /**
   * Accept only access tokens typed `at+jwt` (RFC 9068).
   * @default false
   */
  readonly tokenRequireAtJwt?: boolean;
  /**
   * Refuse access tokens whose `exp - iat` is longer than this many seconds.
   * @default - no limit
   */
  readonly tokenMaxLifetimeSeconds?: number;
}

/** The settings' environment variables, once the URL, issuer and audience are checked (ConfigError). */
export function accessTokenEnvironment(settings: AccessTokenSettings): Record<string, string> {
  requireHttpsUrl('tokenJwksUrl', settings.tokenJwksUrl);
  requireNonEmpty('tokenIssuer', settings.tokenIssuer);
  requireNonEmpty('tokenAudience', settings.tokenAudience);
  return {
    [ENV.tokenJwksUrl]: settings.tokenJwksUrl,
    [ENV.tokenIssuer]: settings.tokenIssuer,
    [ENV.tokenAudience]: settings.tokenAudience,
    [ENV.tokenRequireAtJwt]: String(settings.tokenRequireAtJwt ?? false),
    [ENV.tokenMaxLifetimeSeconds]: String(settings.tokenMaxLifetimeSeconds ?? 0),
  };
}
