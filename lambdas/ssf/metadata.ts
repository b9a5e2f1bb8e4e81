/**
 * SSF 1.0 §6 transmitter metadata, one document for every listener that serves it (the mTLS
 * management routes, and the public key endpoint without client certificates).
 */
import { OAUTH_SCHEME, POLL_DELIVERY, SPEC_VERSION, SSF_PATHS } from './vocabulary.ts';

export interface MetadataOptions {
  /** The SETs' `iss`. */
  readonly issuer: string;
  /** Where the SET signing keys are published (the listener's own JWKS). */
  readonly jwksUri: string;
  /** The mTLS origin the stream endpoints are served on. @default the issuer's origin */
  readonly endpointBase?: string;
}

/** What a receiver reads before it creates its stream. */
export function transmitterMetadata(options: MetadataOptions): Record<string, unknown> {
  const base = (options.endpointBase ?? new URL(options.issuer).origin).replace(/\/$/, '');
  return {
    spec_version: SPEC_VERSION,
    issuer: options.issuer,
    jwks_uri: options.jwksUri,
    delivery_methods_supported: [POLL_DELIVERY],
    configuration_endpoint: `${base}${SSF_PATHS.configuration}`,
    status_endpoint: `${base}${SSF_PATHS.status}`,
    verification_endpoint: `${base}${SSF_PATHS.verification}`,
    authorization_schemes: [{ spec_urn: OAUTH_SCHEME }],
    default_subjects: 'ALL',
  };
}

/** The metadata's headers: JSON, cacheable for 5 minutes (it changes only with a deployment). */
export const METADATA_HEADERS = Object.freeze({ 'content-type': 'application/json', 'cache-control': 'max-age=300' });
