import { Token } from 'aws-cdk-lib';

/**
 * A deployment setting that cannot work. bin/app.ts prints its message as one line, without a
 * stack trace, and exits 1: the operator fixes a value, not the code.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Synth-time checks of construct props. Unresolved tokens are left to CloudFormation. */

export function requireInteger(name: string, value: number, min: number): void {
  if (Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min} (got ${value})`);
  }
}

export function requireNonEmpty(name: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (value.trim() === '') throw new ConfigError(`${name} must not be empty`);
}

export function requireHttpsUrl(name: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an absolute https URL (got ${JSON.stringify(value)})`);
  }
  // Keys fetched over plain HTTP could be swapped in transit: that is token forgery.
  if (url.protocol !== 'https:') throw new ConfigError(`${name} must use https (got ${JSON.stringify(value)})`);
}
