/**
 * The names of setpoll's CloudWatch metrics: one list shared by the handlers (which emit them as
 * Embedded Metric Format log lines) and the CDK stack (whose alarms and dashboard read them).
 * Dependency-free, so the CDK app can import it without the Lambda code.
 *
 * Every metric carries exactly one dimension, `service` (the function's POWERTOOLS_SERVICE_NAME).
 * Never a per-recipient dimension: each distinct dimension value is a custom metric of its own
 * (about $0.30 a month each), so 100,000 recipients would cost ~$30,000 a month per metric. Who a
 * figure belongs to is in the log line beside it (`clientId`), for CloudWatch Logs Insights.
 */

/** The CloudWatch namespace of every setpoll metric. */
export const METRICS_NAMESPACE = 'setpoll';

/** `service` dimension of each function's metrics (its POWERTOOLS_SERVICE_NAME). */
export { MANAGEMENT_SERVICE, POLL_SERVICE } from '../contract.ts';

/**
 * The poll function's metrics, emitted once per answered poll (rejected requests emit none). Counters
 * are left out of a poll's line when zero (they add nothing to a SUM): read them with SUM, and
 * `Polls` for the number of polls. OldestSetAgeMs is there when the poll saw a SET: read it with Maximum.
 */
export const POLL_METRICS = Object.freeze({
  /** Polls answered 200 (the SUM is the number of polls). */
  polls: 'Polls',
  /** Polls asking for SETs without acknowledging any (no `ack`, no `setErrs`). */
  pollOnly: 'PollsPollOnly',
  /** Polls asking for SETs and acknowledging or reporting some in the same request. */
  pollAndAck: 'PollsPollAndAck',
  /** `maxEvents: 0`: acknowledgements (or setErrs) only. */
  ackOnly: 'PollsAckOnly',
  /** Long polls (`returnImmediately` false or omitted). */
  long: 'PollsLong',
  /** Short polls (`returnImmediately: true`). */
  short: 'PollsShort',
  /** Rounds long polls spent waiting for a SET (each 0.1 to 1 s). */
  longPollWaits: 'LongPollWaits',
  /** SETs handed out (first deliveries and redeliveries). */
  delivered: 'SetsDelivered',
  /** SETs handed out again because their lease ran out unacknowledged (part of SetsDelivered). */
  redelivered: 'SetsRedelivered',
  /**
   * Of SetsRedelivered, SETs whose previous delivery answered a request carrying `ack` or `setErrs`
   * and that were never acknowledged: a receiver that acks without `maxEvents: 0` and ignores the
   * SETs in the response. The log line "SETs redelivered after an ack request" names the client.
   */
  redeliveredAfterAcks: 'SetsRedeliveredAfterAcks',
  /** Acknowledgements that removed a queued SET, or the `failed` record of one acknowledged late. */
  acked: 'SetsAcked',
  /** setErrs recorded: SETs the recipient reported as invalid. */
  errored: 'SetsErrored',
  /** Queued SETs found past their TTL and deleted. */
  expired: 'SetsExpired',
  /** SETs moved to `failed` after the last delivery attempt (maxDeliveryAttempts). */
  failed: 'SetsFailed',
  /** Lease conflicts with concurrent polls of the same recipient (retried). */
  leaseConflicts: 'LeaseConflicts',
  /** Age of the oldest SET at the head of the polling recipient's queue, when known. Use Maximum. */
  oldestSetAge: 'OldestSetAgeMs',
} as const);

export type PollMetricName = (typeof POLL_METRICS)[keyof typeof POLL_METRICS];

/** The management function's metrics (service `setpoll-management`). */
export const MANAGEMENT_METRICS = Object.freeze({
  /** Notifications created by POST /notifications or /notifications/bulk (safe retries are not counted). */
  notificationsIssued: 'NotificationsIssued',
  /** Fan-out continuations completed (asynchronous self-invocations of the function). */
  fanOutContinuations: 'FanOutContinuations',
} as const);
