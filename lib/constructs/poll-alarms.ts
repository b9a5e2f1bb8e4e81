import { Duration, Token } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ConfigError } from './validation.ts';
import { METRICS_NAMESPACE, POLL_METRICS, POLL_SERVICE } from '../../lambdas/observability/metric-names.ts';

/** The period every setpoll alarm evaluates. */
export const ALARM_PERIOD = Duration.minutes(5);

/** Alarm thresholds. Every alarm evaluates one 5-minute period. */
export interface AlarmThresholds {
  /**
   * API 5xx rate (percent of all requests, poll and management, in 5 minutes) at or above which
   * the ServerErrorRate alarm fires. Over 0 and at most 100.
   * @default 5
   */
  readonly serverErrorRatePercent?: number;
  /**
   * Requests in 5 minutes below which the 5xx rate is not judged (one failure out of two requests
   * at night is not an incident). An integer >= 1.
   * @default 20
   */
  readonly serverErrorMinRequests?: number;
  /**
   * DynamoDB read plus write throttle events on the table in 5 minutes at or above which the
   * TableThrottles alarm fires. An integer >= 1.
   * @default 10
   */
  readonly tableThrottleEvents?: number;
  /**
   * Lambda errors (unhandled errors and timeouts) of either function in 5 minutes at or above
   * which its Errors alarm fires. An integer >= 1.
   * @default 1
   */
  readonly functionErrors?: number;
  /**
   * p99 duration of the poll function at or above which PollDuration fires. Long polls take
   * `longPollSeconds` by design, so it must lie strictly between the long poll and the timeout.
   * @default the long poll plus half the headroom to the timeout: 22.5 s at the defaults (20 s long poll, 25 s timeout)
   */
  readonly pollDuration?: Duration;
  /**
   * p99 duration of the management function at or above which ManagementDuration fires. Over 0
   * and under the function's timeout.
   * @default 80 % of the management function's timeout (23.2 s of 29 s)
   */
  readonly managementDuration?: Duration;
  /**
   * Age of the oldest unacknowledged SET seen by any poll (the `OldestSetAgeMs` metric, Maximum
   * over every recipient) at or above which OldestSetAge fires. Over 0.
   * @default Duration.hours(1)
   */
  readonly oldestSetAge?: Duration;
  /**
   * SETs redelivered after a request that acknowledged others (`SetsRedeliveredAfterAcks`, Sum over
   * every recipient) in 5 minutes at or above which RedeliveredAfterAcks fires: a receiver acks
   * without `maxEvents: 0` and drops the SETs in the answer, so each comes back a lease later, and
   * with `maxDeliveryAttempts` it ends `failed`. An integer >= 1.
   * @default 10
   */
  readonly redeliveredAfterAcks?: number;
}

export interface PollAlarmsProps extends AlarmThresholds {
  /** The poll Lambda. */
  readonly function: lambda.IFunction;
  /** The poll Lambda's timeout. */
  readonly functionTimeout: Duration;
  /** The long poll of the poll Lambda, in seconds (its invocations last this long when no SET comes). */
  readonly longPollSeconds: number;
  /**
   * The management API Lambda, whose errors and duration are watched too.
   * @default - no management function alarms
   */
  readonly managementFunction?: lambda.IFunction;
  /**
   * The management Lambda's timeout; needed with `managementFunction`.
   * @default - none
   */
  readonly managementFunctionTimeout?: Duration;
  readonly stage: apigwv2.IHttpStage;
  /** The SET queue table, whose throttles are watched. */
  readonly table: dynamodb.ITable;
  /**
   * Where alarm and OK notifications go.
   * @default - alarms without actions (visible in the console only)
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The signals that mean a TPP cannot poll (or a provider cannot notify), or that SETs pile up:
 * the handlers turn every expected failure into an HTTP answer themselves, so a Lambda error or
 * throttle, a 5xx rate, DynamoDB throttling, a function running close to its timeout, or an old
 * unacknowledged SET is worth a look. What to do about each: docs/observability.md.
 */
export class PollAlarms extends Construct {
  public readonly functionErrors: cloudwatch.Alarm;
  public readonly functionThrottles: cloudwatch.Alarm;
  /** 5xx answers as a share of all API requests. */
  public readonly serverErrorRate: cloudwatch.Alarm;
  public readonly tableThrottles: cloudwatch.Alarm;
  public readonly pollDuration: cloudwatch.Alarm;
  public readonly oldestSetAge: cloudwatch.Alarm;
  public readonly redeliveredAfterAcks: cloudwatch.Alarm;
  /** Present when a management function is given. */
  public readonly managementFunctionErrors?: cloudwatch.Alarm;
  /** Present when a management function is given. */
  public readonly managementDuration?: cloudwatch.Alarm;
  /** Every alarm above, for dashboards. */
  public readonly all: cloudwatch.Alarm[] = [];
  /** The thresholds in force (defaults applied), in the alarms' units: percent, count, ms. */
  public readonly thresholds: {
    readonly serverErrorRatePercent: number;
    readonly serverErrorMinRequests: number;
    readonly tableThrottleEvents: number;
    readonly functionErrors: number;
    readonly pollDurationMs: number;
    readonly managementDurationMs?: number;
    readonly oldestSetAgeMs: number;
    readonly redeliveredAfterAcks: number;
  };

  constructor(scope: Construct, id: string, props: PollAlarmsProps) {
    super(scope, id);
    this.thresholds = resolveThresholds(props);
    const t = this.thresholds;
    const period = ALARM_PERIOD;

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm => {
      const a = setpollAlarm(this, alarmId, { metric, threshold, description, alarmTopic: props.alarmTopic });
      this.all.push(a);
      return a;
    };
    // Each function's Errors (Sum, at the functionErrors threshold) and p99 Duration alarms.
    const errorsAlarm = (alarmId: string, fn: lambda.IFunction, description: string): cloudwatch.Alarm =>
      alarm(alarmId, fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }), t.functionErrors, description);
    const durationAlarm = (alarmId: string, fn: lambda.IFunction, thresholdMs: number, description: string): cloudwatch.Alarm =>
      alarm(alarmId, fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99) }), thresholdMs, description);

    this.functionErrors = errorsAlarm('FunctionErrors', props.function, 'setpoll poll Lambda failed (unhandled error or timeout).');
    this.functionThrottles = alarm(
      'FunctionThrottles',
      props.function.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
      1,
      'setpoll poll Lambda throttled: concurrency exhausted by long polls.',
    );
    this.serverErrorRate = alarm(
      'ServerErrorRate',
      new cloudwatch.MathExpression({
        expression: `IF(requests >= ${t.serverErrorMinRequests}, 100 * FILL(errors, 0) / requests, 0)`,
        usingMetrics: {
          errors: props.stage.metricServerError({ period, statistic: cloudwatch.Stats.SUM }),
          requests: props.stage.metricCount({ period, statistic: cloudwatch.Stats.SUM }),
        },
        label: 'API 5xx rate (%)',
        period,
      }),
      t.serverErrorRatePercent,
      `setpoll API answered 5xx to ${t.serverErrorRatePercent} % or more of its requests (with at least ${t.serverErrorMinRequests} requests).`,
    );
    this.tableThrottles = alarm(
      'TableThrottles',
      sumOfSums('DynamoDB throttle events', period, {
        reads: props.table.metric('ReadThrottleEvents'),
        writes: props.table.metric('WriteThrottleEvents'),
      }),
      t.tableThrottleEvents,
      'DynamoDB throttled the SET queue table (callers got 503 with Retry-After).',
    );
    this.pollDuration = durationAlarm(
      'PollDuration',
      props.function,
      t.pollDurationMs,
      `setpoll poll Lambda p99 duration near its ${props.functionTimeout.toSeconds()} s timeout (long polls take ${props.longPollSeconds} s by design).`,
    );
    this.oldestSetAge = alarm(
      'OldestSetAge',
      oldestSetAgeMetric({ period }),
      t.oldestSetAgeMs,
      'A recipient polls but leaves a SET unacknowledged for too long (Maximum of OldestSetAgeMs over every recipient).',
    );
    this.redeliveredAfterAcks = alarm(
      'RedeliveredAfterAcks',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: POLL_METRICS.redeliveredAfterAcks,
        dimensionsMap: { service: POLL_SERVICE },
        statistic: cloudwatch.Stats.SUM,
        period,
      }),
      t.redeliveredAfterAcks,
      'A recipient acknowledges SETs but drops the SETs answered to that request: they come back a lease later (SetsRedeliveredAfterAcks; the WARN log line names it).',
    );
    if (props.managementFunction) {
      // Errors: its expected failures are HTTP answers too, and a failed asynchronous fan-out
      // continuation (retried by Lambda) shows up here as well.
      this.managementFunctionErrors = errorsAlarm(
        'ManagementFunctionErrors',
        props.managementFunction,
        'setpoll management Lambda failed (unhandled error, timeout, or a failed fan-out continuation).',
      );
      this.managementDuration = durationAlarm(
        'ManagementDuration',
        props.managementFunction,
        t.managementDurationMs!,
        `setpoll management Lambda p99 duration near its ${props.managementFunctionTimeout!.toSeconds()} s timeout.`,
      );
    }
  }
}

/** The sum of several metrics' Sums over `period`, a missing point counting 0 (ids are the keys). */
export function sumOfSums(label: string, period: Duration, metrics: Record<string, cloudwatch.Metric>): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: Object.keys(metrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics: Object.fromEntries(Object.entries(metrics).map(([id, m]) => [id, m.with({ period, statistic: cloudwatch.Stats.SUM })])),
    label,
    period,
  });
}

/**
 * One setpoll alarm: fires at or above `threshold` in one 5-minute period, missing data is fine,
 * notifies `alarmTopic` of ALARM and OK, and its description points at docs/observability.md.
 */
export function setpollAlarm(
  scope: Construct,
  id: string,
  options: { metric: cloudwatch.IMetric; threshold: number; description: string; alarmTopic?: sns.ITopic },
): cloudwatch.Alarm {
  const a = new cloudwatch.Alarm(scope, id, {
    metric: options.metric,
    threshold: options.threshold,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: `${options.description} See docs/observability.md#${id.toLowerCase()}.`,
  });
  if (options.alarmTopic) {
    a.addAlarmAction(new actions.SnsAction(options.alarmTopic));
    a.addOkAction(new actions.SnsAction(options.alarmTopic));
  }
  return a;
}

/** The poll function's `OldestSetAgeMs` (EMF, service dimension only), Maximum: the worst recipient. */
export function oldestSetAgeMetric(options: { period?: Duration } = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: POLL_METRICS.oldestSetAge,
    dimensionsMap: { service: POLL_SERVICE },
    statistic: cloudwatch.Stats.MAXIMUM,
    period: options.period ?? ALARM_PERIOD,
  });
}

function resolveThresholds(props: PollAlarmsProps): PollAlarms['thresholds'] {
  const serverErrorRatePercent = props.serverErrorRatePercent ?? 5;
  if (!Number.isFinite(serverErrorRatePercent) || serverErrorRatePercent <= 0 || serverErrorRatePercent > 100) {
    throw new ConfigError(`serverErrorRatePercent must be over 0 and at most 100 (got ${serverErrorRatePercent})`);
  }
  const counts = {
    serverErrorMinRequests: props.serverErrorMinRequests ?? 20,
    tableThrottleEvents: props.tableThrottleEvents ?? 10,
    functionErrors: props.functionErrors ?? 1,
    redeliveredAfterAcks: props.redeliveredAfterAcks ?? 10,
  };
  for (const [name, value] of Object.entries(counts)) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be an integer >= 1 (got ${value})`);
  }

  const timeoutMs = props.functionTimeout.toMilliseconds();
  const longPollMs = props.longPollSeconds * 1000;
  const pollDurationMs = props.pollDuration ? positiveMs('pollDuration', props.pollDuration) : Math.round(longPollMs + (timeoutMs - longPollMs) / 2);
  if (pollDurationMs <= longPollMs || pollDurationMs >= timeoutMs) {
    throw new ConfigError(
      `pollDuration must be longer than the ${props.longPollSeconds} s long poll (every idle long poll lasts that long) ` +
        `and shorter than the ${timeoutMs / 1000} s timeout (got ${pollDurationMs / 1000} s)`,
    );
  }

  let managementDurationMs: number | undefined;
  if (props.managementFunction) {
    if (!props.managementFunctionTimeout) throw new Error('managementFunctionTimeout is required with managementFunction');
    const managementTimeoutMs = props.managementFunctionTimeout.toMilliseconds();
    managementDurationMs = props.managementDuration ? positiveMs('managementDuration', props.managementDuration) : Math.round(managementTimeoutMs * 0.8);
    if (managementDurationMs >= managementTimeoutMs) {
      throw new ConfigError(`managementDuration must be shorter than the ${managementTimeoutMs / 1000} s timeout (got ${managementDurationMs / 1000} s)`);
    }
  }

  const oldestSetAgeMs = positiveMs('oldestSetAge', props.oldestSetAge ?? Duration.hours(1));
  return { serverErrorRatePercent, ...counts, pollDurationMs, managementDurationMs, oldestSetAgeMs };
}

function positiveMs(name: string, value: Duration): number {
  const ms = value.toMilliseconds();
  if (Token.isUnresolved(ms) || !(ms > 0)) throw new ConfigError(`${name} must be a positive duration (got ${value.toHumanString()})`);
  return ms;
}
