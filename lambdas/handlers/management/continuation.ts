import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { SetpollError } from '../../core/errors.ts';
import { isTransient } from '../../http/error-handler.ts';
import type { NotificationService } from '../../notifier/notifications.ts';
import { isProviderId } from '../../notifier/validation.ts';
import { MANAGEMENT_METRICS } from '../../observability/metric-names.ts';
import { flushMetrics } from '../../observability/metrics.ts';
import { runWithInteraction } from '../../observability/request-context.ts';
import { isObject } from '../../shared/helpers.ts';

/** The async self-invocation that continues a fan-out (FanOutScheduler in AWS). Not HTTP. */
export interface FanOutContinuationEvent {
  readonly setpollFanOut: {
    readonly providerId: string;
    readonly notificationId: string;
    /** `x-fapi-interaction-id` of the request that started the fan-out, logged with every step. */
    readonly interactionId?: string;
  };
}

/** What an echoed interaction id may be (as lambdas/http/interaction-id.ts accepts). */
const SAFE_INTERACTION_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * One step of a long fan-out, in a fresh invocation. A failure a retry can fix is thrown, so
 * Lambda's own retry of the async event resumes from the saved cursor (continuations are
 * idempotent); a refusal (no such notification, malformed event) is logged and dropped.
 */
export function createContinuationHandler(deps: {
  readonly notifications: NotificationService;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
}): (event: FanOutContinuationEvent, context: Context) => Promise<APIGatewayProxyStructuredResultV2> {
  const { notifications, logger, metrics } = deps;
  return async (event: FanOutContinuationEvent, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    logger.resetKeys();
    logger.appendKeys({ awsRequestId: context.awsRequestId });
    const target = fanOutTarget(event);
    if (!target) {
      logger.error('Malformed fan-out continuation event');
      return { statusCode: 400 };
    }
    const { interactionId: startedBy, ...ids } = target;
    logger.appendKeys({ ...(startedBy ? { interactionId: startedBy } : {}), ...ids });
    try {
      // A further continuation scheduled by this one carries the same interaction id.
      const result = await runWithInteraction(startedBy, () => notifications.continueFanOut(target.providerId, target.notificationId));
      const { queued, skipped, filtered = 0, withdrawn } = result.notification.fanOut;
      const { done, scheduled, contended } = result;
      logger.info('Fan-out continued', { ...ids, done, scheduled, contended, queued, skipped, filtered, withdrawn });
      metrics?.addMetric(MANAGEMENT_METRICS.fanOutContinuations, MetricUnit.Count, 1);
      metrics?.addMetadata('providerId', target.providerId);
      if (startedBy) metrics?.addMetadata('interactionId', startedBy);
      metrics?.addMetadata('awsRequestId', context.awsRequestId);
      return { statusCode: 200, body: JSON.stringify({ done: result.done, scheduled: result.scheduled, contended: result.contended }) };
    } catch (error) {
      // A refusal is final: a retry of the event would be refused again. Anything else (a
      // ProgrammerError included) is thrown, never passed off as the event's fault.
      if (error instanceof SetpollError && error.statusCode < 500) {
        logger.error('Fan-out continuation refused', { ...ids, errorName: error.name, code: error.code });
        return { statusCode: error.statusCode };
      }
      logger.warn('Fan-out continuation failed; the retry of the event resumes it', { ...ids, errorName: (error as Error)?.name, transient: isTransient(error) });
      throw error;
    } finally {
      flushMetrics(metrics, logger);
    }
  };
}

export function isFanOutEvent(event: unknown): event is FanOutContinuationEvent {
  return typeof event === 'object' && event !== null && 'setpollFanOut' in event && !('requestContext' in event);
}

export function fanOutTarget(event: FanOutContinuationEvent): { providerId: string; notificationId: string; interactionId?: string } | undefined {
  const target: unknown = event.setpollFanOut;
  if (!isObject(target)) return undefined;
  const { providerId, notificationId, interactionId } = target;
  // The provider id is checked here, as an authenticated id would be: the services refuse a bad
  // one as misuse (ProgrammerError), and a malformed event is the event's fault.
  if (!isProviderId(providerId) || typeof notificationId !== 'string') return undefined;
  // Only ever logged: an id that is not one this service would echo is dropped, not refused.
  const traced = typeof interactionId === 'string' && SAFE_INTERACTION_ID.test(interactionId) ? { interactionId } : {};
  return { providerId, notificationId, ...traced };
}
