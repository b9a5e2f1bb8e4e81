/**
 * The DynamoDB item schema: the contract a producer in any language writes to.
 * One table, partition key `pk` (S), sort key `sk` (S), TTL attribute `ttl` (epoch seconds).
 * No indexes: an index would double the write cost of every SET.
 *
 *  | item            | pk              | sk                        | attributes                                      |
 *  |-----------------|-----------------|---------------------------|-------------------------------------------------|
 *  | queued SET      | `Q#<clientId>`  | `S#<iat:10 digits>#<jti>` | jti, set (compact JWS), ttl, att? (attempts)     |
 *  | lease record    | `Q#<clientId>`  | `LEASE`                   | v (version), l (map jti -> "<iat>:<leaseUntilMs>") |
 *  | delivery record | `Q#<clientId>`  | `R#<jti>`                 | state, err?, description?, lang?, att, at, set, ttl |
 *  | certificate     | `CERT#<sha256>` | `CERT`                    | clientId, at                                    |
 *  | client's cert   | `CLIENT#<id>`   | `CERT#<sha256>`           | at                                              |
 *  | revoked cert    | `CERT#<sha256>` | `REVOKED`                 | at, reason?                                     |
 *
 * The `S#` sort key orders a queue oldest first by the SET's own `iat`, and makes a retried put of
 * the same SET hit the same key, so `attribute_not_exists(sk)` makes enqueue idempotent.
 */
export const SET_PREFIX = 'S#';
export const RECORD_PREFIX = 'R#';
export const LEASE_SK = 'LEASE';
export const CERT_SK = 'CERT';
export const REVOKED_SK = 'REVOKED';

const IAT_DIGITS = 10;

export const queuePk = (clientId: string): string => `Q#${clientId}`;
export const certPk = (fingerprint: string): string => `CERT#${fingerprint}`;
export const clientPk = (clientId: string): string => `CLIENT#${clientId}`;

export function setSk(iat: number, jti: string): string {
  if (!Number.isSafeInteger(iat) || iat < 0 || iat >= 10 ** IAT_DIGITS) {
    throw new TypeError(`iat must be a whole number of seconds, got ${iat}`);
  }
  return `${SET_PREFIX}${String(iat).padStart(IAT_DIGITS, '0')}#${jti}`;
}

/** Splits a queued SET's sort key; the jti may itself contain '#', so split by position. */
export function parseSetSk(sk: string): { iat: number; jti: string } {
  const iat = Number(sk.slice(SET_PREFIX.length, SET_PREFIX.length + IAT_DIGITS));
  return { iat, jti: sk.slice(SET_PREFIX.length + IAT_DIGITS + 1) };
}

export const recordSk = (jti: string): string => `${RECORD_PREFIX}${jti}`;

/** A queued SET as stored. */
export interface QueuedSetItem {
  pk: string;
  sk: string;
  jti: string;
  set: string;
  ttl: number;
  att?: number;
}

/** Terminal states a producer can read; an acknowledged SET is simply deleted. */
export type RecordState = 'errored' | 'failed';

export interface DeliveryRecordItem {
  pk: string;
  sk: string;
  jti: string;
  state: RecordState;
  err?: string;
  description?: string;
  lang?: string;
  att: number;
  at: number;
  set: string;
  ttl: number;
}
