/**
 * The DynamoDB item schema: the contract a producer in any language writes to.
 * One table, partition key `pk` (S), sort key `sk` (S), TTL attribute `ttl` (epoch seconds).
 * No indexes: an index would double the write cost of every SET.
 *
 *  | item            | pk              | sk                        | attributes                                      |
 *  |-----------------|-----------------|---------------------------|-------------------------------------------------|
 *  | queued SET      | `Q#<clientId>`  | `S#<jti>`                 | jti, set (compact JWS), ttl, att? (attempts), err?, description?, lang?, errAt? (the last setErrs report, erroredSets `redeliver`), prov?, nid? (a Notifier SET's provider and notification) |
 *  | lease record    | `Q#<clientId>`  | `S!LEASE`                 | v (version), l (list of [jti, leaseUntilMs])    |
 *  | delivery gate   | `Q#<clientId>`  | `S!STATUS`                | status (paused/disabled), after? (jti): only while an SSF stream is not enabled |
 *  | SSF stream      | `Q#<clientId>`  | `SSF#STREAM`              | streamId, eventsRequested, eventsDelivered, status, version, … (lambdas/store/dynamo-stream-store.ts) |
 *  | delivery record | `Q#<clientId>`  | `R#<jti>`                 | state, err?, description?, lang?, att, at, set, ttl |
 *  | certificate     | `CERT#<sha256>` | `CERT`                    | clientId, at                                    |
 *  | client's cert   | `CLIENT#<id>`   | `CERT#<sha256>`           | at, subject?, notAfter? (epoch ms; kept when registered from a PEM) |
 *  | revoked cert    | `CERT#<sha256>` | `REVOKED`                 | at, reason?                                     |
 *  | destination     | `P#<providerId>`| `D#<clientId>`            | clientId, eventTypes? (L of S; absent: all types), version, createdAt, updatedAt |
 *  | notification    | `P#<providerId>`| `N#<notificationId>`      | notificationId, revision, jti, iat, claims (S: the JSON text; M in items of earlier builds), ttlSeconds, state, cursor?, queued, skipped, sweeping?, sweepCursor?, withdrawnSets, step, version, createdAt, updatedAt |
 *  | provider counts | `P#<providerId>`| `C#destinations`, `C#rate#<epoch minute>` | n (destinations held; notifications that minute), ttl (rate only) |
 *  | receipt         | `P#<providerId>#N#<notificationId>` | `D#<clientId>` | clientId, jti, revision, queuedAt, expiresAt (epoch s), withdrawn?, withdrawnAt? |
 *  | published key   | `KEYS`          | `K#<kid>`                 | kid, jwk (public JWK as JSON), kind (previous, producer), at, label?, until?, ttl? |
 *  | authorization   | `AUTH#<recipientId>` | `P#<providerId>`     | recipientId, providerId, grantedBy (`operator` or `recipient`), at |
 *  | inbox entry     | `INBOX#<recipientId>` | `N#<jti>`           | clientId, jti, providerId, notificationId, revision, queuedAt, expiresAt, withdrawn?, withdrawnAt?, ttl (a Notifier SET queued to the recipient: what it reviews) |
 *
 * Notifier items (see lambdas/notifier/): a Data Provider's destinations and notifications share
 * the partition `P#<providerId>`, so every read and write of one provider is keyed by its own id and
 * can never reach another provider's items. A provider id never contains `#` (otherwise
 * `P#a#N#x` could be both a receipt partition and a provider partition). A receipt records the SET
 * of one notification revision queued to one destination; a later revision overwrites it.
 * `state` is `fanning_out`, `issued` or `withdrawn`; `cursor` is the last destination sk fanned out
 * to; `sweeping`/`sweepCursor` track the withdrawal of undelivered SETs of earlier revisions; `step`
 * counts progress saves (the condition that stops two continuations both advancing).
 * Withdrawing an undelivered SET (replace, withdraw) deletes it in one transaction with a bump of
 * its recipient's lease record `v` (creating a record with only `v` and `ttl` when there is none),
 * so a poll that read the queue before the delete fails its conditional lease write and selects
 * again. Writers of lease records must keep `v` monotonic and treat `l` as optional.
 *
 * Published keys (lambdas/keys/): the JWKS besides the current signing key, all in one partition
 * that no client id can name (queue partitions start `Q#`, certificates `CERT#`/`CLIENT#`).
 *
 * The lease record's sort key `S!LEASE` sorts just before every `S#<jti>` (`!` < `#`) and after every
 * `R#<jti>`, so one Query from `S!LEASE` to `S$` reads a recipient's lease record and the head of its
 * queue in one round trip and one read-unit rounding, lease first.
 *
 * The `S#<jti>` sort key makes enqueue idempotent on the jti (`attribute_not_exists(sk)`) and an ack
 * a direct conditional delete. A queue is read in jti order; setpoll's jtis are UUIDv7, which sort
 * by creation time, so SETs it publishes are delivered oldest first.
 */
export const SET_PREFIX = 'S#';
export const RECORD_PREFIX = 'R#';
export const LEASE_SK = 'S!LEASE';
/** Just past every `S#…` sort key: the upper bound of a head read (`S!LEASE` … `S$`). */
export const QUEUE_END_SK = 'S$';
/**
 * An SSF stream's delivery gate: sorts after `S!LEASE` and before every `S#<jti>`, so the poll's one
 * head Query reads it with the lease record at no extra round trip; it exists only while a stream is
 * paused or disabled, so recipients without one pay nothing for it.
 */
export const GATE_SK = 'S!STATUS';
/** An SSF stream's configuration: outside the head Query's range (`S!LEASE` … `S$`). */
export const STREAM_SK = 'SSF#STREAM';
export const CERT_SK = 'CERT';
/** The partition of the operator-published keys (previous signing keys, producers' keys). */
export const KEYS_PK = 'KEYS';
export const keySk = (kid: string): string => `K#${kid}`;
/** Every queue partition key starts with this: what a producer's IAM condition allows. */
export const QUEUE_PK_PREFIX = 'Q#';
export const REVOKED_SK = 'REVOKED';

export const queuePk = (clientId: string): string => `${QUEUE_PK_PREFIX}${clientId}`;
export const certPk = (fingerprint: string): string => `CERT#${fingerprint}`;
export const clientPk = (clientId: string): string => `CLIENT#${clientId}`;

export const setSk = (jti: string): string => `${SET_PREFIX}${jti}`;

/** The item of a newly queued SET (the one shape every enqueue writes). */
export const queuedSetItem = (clientId: string, set: { jti: string; set: string; ttl: number }): QueuedSetItem => ({
  pk: queuePk(clientId),
  sk: setSk(set.jti),
  jti: set.jti,
  set: set.set,
  ttl: set.ttl,
});

/** The sort key of a recipient's certificate item under `CLIENT#<id>`: `CERT#<sha256>`. */
export const CLIENT_CERT_PREFIX = 'CERT#';
export const clientCertSk = (fingerprint: string): string => `${CLIENT_CERT_PREFIX}${fingerprint}`;

export const recordSk = (jti: string): string => `${RECORD_PREFIX}${jti}`;

/** A queued SET as stored. */
export interface QueuedSetItem {
  pk: string;
  sk: string;
  jti: string;
  set: string;
  ttl: number;
  /** A Notifier SET's Data Provider (also its signed `data_provider` claim): what a deauthorization withdraws. */
  prov?: string;
  /** A Notifier SET's notification id: the receipt a withdrawal marks. */
  nid?: string;
  att?: number;
  /** The recipient's last setErrs report on a SET that stays queued (erroredSets `redeliver`). */
  err?: string;
  description?: string;
  lang?: string;
  errAt?: number;
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

export const DESTINATION_PREFIX = 'D#';
export const NOTIFICATION_PREFIX = 'N#';

/** The partition of one Data Provider's destinations and notifications. */
export const providerPk = (providerId: string): string => `P#${providerId}`;
export const destinationSk = (clientId: string): string => `${DESTINATION_PREFIX}${clientId}`;
export const notificationSk = (notificationId: string): string => `${NOTIFICATION_PREFIX}${notificationId}`;
/** A provider's destination count (n), under its own partition: see DynamoProviderQuotaStore. */
export const DESTINATION_COUNT_SK = 'C#destinations';
/** A provider's count (n, ttl) of notifications in one minute since the epoch. */
export const notificationRateSk = (epochMinute: number): string => `C#rate#${epochMinute}`;
/** The partition of one notification's receipts (one per destination its SET was queued to). */
export const receiptPk = (providerId: string, notificationId: string): string => `P#${providerId}#N#${notificationId}`;
export const receiptSk = (clientId: string): string => `${DESTINATION_PREFIX}${clientId}`;

/** The partition of one recipient's inbox: an entry per Notifier SET queued to it, by jti (time order). */
export const inboxPk = (recipientId: string): string => `INBOX#${recipientId}`;
export const INBOX_PREFIX = 'N#';
export const inboxSk = (jti: string): string => `${INBOX_PREFIX}${jti}`;

/** The partition of one recipient's authorizations: which Data Providers may notify it. */
export const authorizationPk = (recipientId: string): string => `AUTH#${recipientId}`;
export const AUTHORIZED_PROVIDER_PREFIX = 'P#';
export const authorizedProviderSk = (providerId: string): string => `${AUTHORIZED_PROVIDER_PREFIX}${providerId}`;
