/**
 * The Shared Signals Framework 1.0 names setpoll uses: URNs, event types, scopes and paths. One
 * source for the handlers, the stream service, the local stack, the CLI and the recipient library.
 */

/** RFC 8936 poll delivery: the only delivery method setpoll offers. */
export const POLL_DELIVERY = 'urn:ietf:rfc:8936';
/** RFC 8935 push delivery: refused with a 400. */
export const PUSH_DELIVERY = 'urn:ietf:rfc:8935';
/** OAuth 2.0 (RFC 6749): how receivers authorize (certificate-bound client-credentials tokens). */
export const OAUTH_SCHEME = 'urn:ietf:rfc:6749';
export const SPEC_VERSION = '1_0';

const SSF_EVENT = 'https://schemas.openid.net/secevent/ssf/event-type';
export const VERIFICATION_EVENT = `${SSF_EVENT}/verification`;
export const STREAM_UPDATED_EVENT = `${SSF_EVENT}/stream-updated`;

const CAEP_EVENT = 'https://schemas.openid.net/secevent/caep/event-type';
/** CAEP 1.0's event types: what a stream offers (`events_supported`) unless configured otherwise. */
export const CAEP_EVENT_TYPES: readonly string[] = Object.freeze([
  `${CAEP_EVENT}/session-revoked`,
  `${CAEP_EVENT}/token-claims-change`,
  `${CAEP_EVENT}/credential-change`,
  `${CAEP_EVENT}/assurance-level-change`,
  `${CAEP_EVENT}/device-compliance-change`,
  `${CAEP_EVENT}/session-established`,
  `${CAEP_EVENT}/session-presented`,
  `${CAEP_EVENT}/risk-level-change`,
]);

/** The SSF scopes live with every other scope in the deployment contract. */
export { SSF_MANAGE_SCOPE, SSF_POLL_SCOPE, SSF_READ_SCOPE, SSF_READ_SCOPES, SSF_RECEIVER_SCOPES, SSF_WRITE_SCOPES } from '../contract.ts';

/** Paths under the mTLS origin. The discovery path is derived from the issuer (SSF §6.2). */
export const SSF_PREFIX = '/ssf';
export const SSF_PATHS = Object.freeze({
  configuration: `${SSF_PREFIX}/streams`,
  status: `${SSF_PREFIX}/status`,
  verification: `${SSF_PREFIX}/verify`,
});
export const WELL_KNOWN_SSF = '/.well-known/ssf-configuration';

/** SSF §6.2: `https://h/p` -> `/.well-known/ssf-configuration/p`; an issuer without a path -> the bare suffix. */
export function discoveryPath(issuer: string): string {
  const path = new URL(issuer).pathname;
  return path === '/' ? WELL_KNOWN_SSF : `${WELL_KNOWN_SSF}${path.replace(/\/$/, '')}`;
}
