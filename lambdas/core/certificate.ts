import { X509Certificate, createHash } from 'node:crypto';
import type { CertificateFacts } from '../store/recipient-registry.ts';

/** The two encodings of a certificate's SHA-256 thumbprint that setpoll uses. */
export interface CertificateThumbprint {
  /** Lowercase hex: the key of the recipient registry. */
  readonly hex: string;
  /** base64url: RFC 8705 `x5t#S256`, for certificate-bound tokens. */
  readonly x5tS256: string;
}

/**
 * Thumbprint of a PEM certificate, computed over its DER bytes. The subject/issuer DN strings that
 * API Gateway also passes are never used: their formatting is not reliable enough to be an identity.
 * Returns undefined when the PEM does not parse.
 */
export function thumbprintOfPem(pem: string): CertificateThumbprint | undefined {
  let der: Buffer;
  try {
    der = new X509Certificate(pem).raw;
  } catch {
    return undefined;
  }
  const digest = createHash('sha256').update(der).digest();
  return { hex: digest.toString('hex'), x5tS256: digest.toString('base64url') };
}

/** The subject and expiry an operator sees in `recipients show`, read off a PEM that has already parsed. */
export function certificateFactsOfPem(pem: string): CertificateFacts {
  const certificate = new X509Certificate(pem);
  return { subject: certificate.subject.split('\n').join(', '), notAfter: new Date(certificate.validTo).getTime() };
}
