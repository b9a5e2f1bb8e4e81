/**
 * The DynamoDB item schema: the contract a producer in any language writes to.
 * One table, partition key `pk` (S), sort key `sk` (S), TTL attribute `ttl` (epoch seconds).
 * No indexes: an index would double the write cost of every SET.
 *
 *  | item            | pk              | sk                        | attributes                                      |
 *  |-----------------|-----------------|---------------------------|-------------------------------------------------|
 *  | queued SET      | `Q#<clientId>`  | `S#<jti>`                 | jti, set (compact JWS), ttl, att? (attempts)     |
 *  | lease record    | `Q#<clientId>`  | `LEASE`                   | v (version), l (map jti -> leaseUntilMs)         |
 *  | delivery record | `Q#<clientId>`  | `R#<jti>`                 | state, err?, description?, lang?, att, at, set, ttl |
 *  | certificate     | `CERT#<sha256>` | `CERT`                    | clientId, at                                    |
 *  | client's cert   | `CLIENT#<id>`   | `CERT#<sha256>`           | at                                              |
 *  | revoked cert    | `CERT#<sha256>` | `REVOKED`                 | at, reason?                                     |
 *
 * The `S#<jti>` sort key makes enqueue idempotent on the jti (`attribute_not_exists(sk)`) and an ack
 * a direct conditional delete. A queue is read in jti order; setpoll's jtis are UUIDv7, which sort
 * by creation time, so SETs it publishes are delivered oldest first.
 */
export const SET_PREFIX = 'S#';
export const RECORD_PREFIX = 'R#';
export const LEASE_SK = 'LEASE';
export const CERT_SK = 'CERT';
export const REVOKED_SK = 'REVOKED';

export const queuePk = (clientId: string): string => `Q#${clientId}`;
export const certPk = (fingerprint: string): string => `CERT#${fingerprint}`;
export const clientPk = (clientId: string): string => `CLIENT#${clientId}`;

export const setSk = (jti: string): string => `${SET_PREFIX}${jti}`;

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
