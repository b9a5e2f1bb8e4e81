import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE, POLL_METRICS } from './metric-names.ts';

export { METRICS_NAMESPACE, POLL_METRICS } from './metric-names.ts';

/**
 * A Powertools Metrics instance for one function: namespace `setpoll`, the `service` dimension
 * only (see metric-names.ts for why never a per-recipient one). Its own warnings go to `logger`.
 * POWERTOOLS_METRICS_DISABLED=true turns the output off (Powertools reads it).
 */
export function createMetrics(options: { readonly serviceName: string; readonly logger: Logger }): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: options.serviceName, logger: options.logger });
}

/**
 * The metrics of a handler built without an explicit Metrics object (the local stack): EMF lines
 * are log lines, so they follow the logger. A SILENT logger (the test suites' default) emits no
 * metrics either; any other level writes EMF to stdout beside the logs, as in Lambda.
 *
 * One Metrics object buffers per process. Lambda runs one invocation at a time per instance; the
 * local stack serves concurrent requests in one process, where a flush may carry a concurrent
 * request's figures too (totals stay right, the clientId metadata of such a line may not).
 */
export function defaultMetrics(logger: Logger, serviceName: string): Metrics | undefined {
  return logger.getLevelName() === 'SILENT' ? undefined : createMetrics({ serviceName, logger });
}

/**
 * Flushes the invocation's metrics once, after the handler and the error middleware ran (use it
 * first, so its `after`/`onError` run last). Unlike Powertools' logMetrics middleware it stays
 * quiet when an invocation recorded nothing (a rejected request), and a failure to serialize is
 * logged rather than turned into a 500 for the caller.
 */
export function publishMetrics<E, R, C extends Context>(metrics: Metrics | undefined, logger: Logger): middy.MiddlewareObj<E, R, Error, C> {
  const publish = (): void => flushMetrics(metrics, logger);
  return { after: publish, onError: publish };
}

/** Publishes what is stored (if anything) and empties the buffer; never throws. */
export function flushMetrics(metrics: Metrics | undefined, logger: Logger): void {
  if (!metrics) return;
  try {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  } catch (error) {
    logger.warn('Metrics could not be published', { errorName: (error as Error)?.name });
  } finally {
    metrics.clearMetrics();
    metrics.clearMetadata();
    metrics.clearDimensions();
  }
}

/** What kind of poll a request was, by what it asked for (RFC 8936 §2.4). */
export type PollVariant = 'poll-only' | 'poll+ack' | 'ack-only';

export function pollVariant(request: { readonly maxEvents?: number; readonly ack: readonly string[]; readonly setErrs: ReadonlyMap<string, unknown> }): PollVariant {
  if (request.maxEvents === 0) return 'ack-only';
  return request.ack.length > 0 || request.setErrs.size > 0 ? 'poll+ack' : 'poll-only';
}

/** The figures of one answered poll (PollStats of lambdas/core/poll-service.ts). */
export interface PollFigures {
  readonly delivered: number;
  readonly redelivered: number;
  readonly redeliveredAfterAcks: number;
  readonly acked: number;
  readonly errored: number;
  readonly expired: number;
  readonly failed: number;
  readonly conflicts: number;
  readonly waits: number;
  readonly oldestAgeMs?: number;
}

/** Ids that make an EMF line findable in Logs Insights: EMF metadata, not dimensions (free). */
export interface PollMetadata {
  readonly interactionId?: string | undefined;
  readonly awsRequestId?: string | undefined;
  readonly clientId: string;
}

/**
 * Records one answered poll: `Polls` (1), one variant counter and one of long/short (1), every
 * other counter when it is not zero, and the oldest SET age when the poll saw one. Zeros are left
 * out because each metric costs ~70 bytes of log ingestion on every poll and adds nothing to a
 * SUM; `Polls` (SUM) is the number of polls. The metric names: lambdas/observability/metric-names.ts.
 */
export function recordPoll(
  metrics: Metrics | undefined,
  poll: { readonly variant: PollVariant; readonly returnImmediately: boolean; readonly stats: PollFigures; readonly ids: PollMetadata },
): void {
  if (!metrics) return;
  const { stats, variant, returnImmediately, ids } = poll;
  const count = (name: string, value: number) => {
    if (value !== 0) metrics.addMetric(name, MetricUnit.Count, value);
  };
  count(POLL_METRICS.polls, 1);
  count(variant === 'poll-only' ? POLL_METRICS.pollOnly : variant === 'poll+ack' ? POLL_METRICS.pollAndAck : POLL_METRICS.ackOnly, 1);
  count(returnImmediately ? POLL_METRICS.short : POLL_METRICS.long, 1);
  count(POLL_METRICS.longPollWaits, stats.waits);
  count(POLL_METRICS.delivered, stats.delivered);
  count(POLL_METRICS.redelivered, stats.redelivered);
  count(POLL_METRICS.redeliveredAfterAcks, stats.redeliveredAfterAcks);
  count(POLL_METRICS.acked, stats.acked);
  count(POLL_METRICS.errored, stats.errored);
  count(POLL_METRICS.expired, stats.expired);
  count(POLL_METRICS.failed, stats.failed);
  count(POLL_METRICS.leaseConflicts, stats.conflicts);
  if (stats.oldestAgeMs !== undefined && Number.isFinite(stats.oldestAgeMs)) {
    metrics.addMetric(POLL_METRICS.oldestSetAge, MetricUnit.Milliseconds, Math.max(0, Math.round(stats.oldestAgeMs)));
  }
  metrics.addMetadata('clientId', ids.clientId);
  if (ids.interactionId) metrics.addMetadata('interactionId', ids.interactionId);
  if (ids.awsRequestId) metrics.addMetadata('awsRequestId', ids.awsRequestId);
}
