/**
 * A recipient's certificate as the operator names it: a PEM file (`--cert`), whose fingerprint,
 * subject and expiry are read here, or a bare SHA-256 fingerprint (`--fingerprint`).
 */
import { resolve } from 'node:path';
import { certificateFactsOfPem, thumbprintOfPem } from '../lambdas/core/certificate.ts';
import type { CertificateFacts } from '../lambdas/store/recipient-registry.ts';
import { CliFailure, UsageError } from './errors.ts';
import { readTextFile } from './files.ts';

export interface NamedCertificate {
  /** Lowercase hex of the SHA-256 of the DER encoding: the registry's key. */
  readonly fingerprint: string;
  /** Only when read from a PEM. */
  readonly facts?: CertificateFacts;
}

/** From exactly one of --cert and --fingerprint. */
export async function certificateOf(certFile: string | undefined, fingerprint: string | undefined, command: string): Promise<NamedCertificate> {
  if ((certFile === undefined) === (fingerprint === undefined)) throw new UsageError('give exactly one of --cert FILE.pem and --fingerprint HEX', command);
  if (fingerprint !== undefined) return { fingerprint: normalizeFingerprint(fingerprint, 'fingerprint', command) };
  const file = resolve(certFile!);
  const pem = await readTextFile(file, 'the certificate');
  const thumbprint = thumbprintOfPem(pem);
  if (!thumbprint) throw new CliFailure(`${file} is not a PEM certificate`);
  return { fingerprint: thumbprint.hex, facts: certificateFactsOfPem(pem) };
}

/** Accepts upper case and colon or space separators (as openssl prints it); answers lowercase hex. */
export function normalizeFingerprint(raw: string, option: string, command: string): string {
  const hex = raw.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError(`--${option} must be a SHA-256 fingerprint: 64 hex digits`, command);
  return hex;
}

/** Why a certificate has no subject or expiry on record. */
export const UNKNOWN_FACTS = 'unknown (registered before subjects were kept, or by fingerprint)';

/** The expiry as shown: ISO time, and whether it has passed. */
export function expiryText(facts: CertificateFacts | undefined, now = Date.now()): string {
  if (facts === undefined) return 'unknown';
  const at = new Date(facts.notAfter).toISOString();
  return facts.notAfter <= now ? `${at} (expired)` : at;
}
