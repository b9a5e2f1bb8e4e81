import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeNag } from './nag.ts';
import { ALARM_PERIOD, setpollAlarm, sumOfSums } from './poll-alarms.ts';
import { ConfigError } from './validation.ts';

/** Lambda's own retries of a failed asynchronous invocation (its maximum). */
export const CONTINUATION_RETRY_ATTEMPTS = 2;
/** How long Lambda keeps trying an asynchronous invocation (its maximum). */
export const CONTINUATION_MAX_EVENT_AGE = Duration.hours(6);

export interface FanOutContinuationsProps {
  /** The management function, which continues long fan-outs by invoking itself asynchronously. */
  readonly function: lambda.Function;
  /**
   * Records of failed continuations in the queue at or above which FailedContinuations fires.
   * @default 1
   */
  readonly failedThreshold?: number;
  /** @default - alarms without actions */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * Makes a fan-out continuation impossible to lose silently. The management function invokes itself
 * asynchronously (InvocationType Event) to continue a long fan-out; Lambda retries a failed event
 * twice and then discards it, and it may also drop an event it never ran (too old, or its queue
 * could not keep up). Then the notification would stay `fanning_out` for good.
 *
 * - Failed events go to an on-failure destination: an encrypted, TLS-only SQS queue kept 14 days,
 *   whose records carry the original event (`requestPayload`) for a resume (docs/runbook.md).
 * - FailedContinuations fires when that queue holds a record; DroppedContinuations when Lambda
 *   dropped an event or could not deliver a record to the queue.
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
 */
export class FanOutContinuations extends Construct {
  public readonly failureQueue: sqs.Queue;
  public readonly failed: cloudwatch.Alarm;
  public readonly dropped: cloudwatch.Alarm;
  public readonly all: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: FanOutContinuationsProps) {
    super(scope, id);
    const failedThreshold = props.failedThreshold ?? 1;
    if (!Number.isInteger(failedThreshold) || failedThreshold < 1) {
      throw new ConfigError(`alarmFailedContinuations must be an integer >= 1 (got ${failedThreshold})`);
    }

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      // Encrypted at rest (SSE-SQS) with no KMS key policy that Lambda's delivery would have to pass.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS keeps a message: time for someone to act on the alarm.
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNag(
      this.failureQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter destination of the failed fan-out continuations; nothing consumes it automatically (docs/runbook.md resumes its records by hand).',
    );

    props.function.configureAsyncInvoke({
      onFailure: new SqsDestination(this.failureQueue),
      retryAttempts: CONTINUATION_RETRY_ATTEMPTS,
      maxEventAge: CONTINUATION_MAX_EVENT_AGE,
    });

    const period = ALARM_PERIOD;
    this.failed = setpollAlarm(this, 'FailedContinuations', {
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: failedThreshold,
      description: 'A fan-out continuation failed all its attempts: its notification stops short of some destinations until resumed (docs/runbook.md).',
      alarmTopic: props.alarmTopic,
    });
    this.dropped = setpollAlarm(this, 'DroppedContinuations', {
      metric: sumOfSums('Continuations dropped or not recorded', period, {
        dropped: props.function.metric('AsyncEventsDropped'),
        undelivered: props.function.metric('DestinationDeliveryFailures'),
      }),
      threshold: 1,
      description: 'Lambda dropped a fan-out continuation or could not record its failure in the queue: find notifications still fanning out (docs/runbook.md).',
      alarmTopic: props.alarmTopic,
    });
    this.all = [this.failed, this.dropped];
  }
}
