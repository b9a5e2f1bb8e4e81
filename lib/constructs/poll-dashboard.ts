import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { MANAGEMENT_METRICS, MANAGEMENT_SERVICE, METRICS_NAMESPACE, POLL_METRICS, POLL_SERVICE } from '../../lambdas/observability/metric-names.ts';
import { oldestSetAgeMetric, type PollAlarms } from './poll-alarms.ts';

/** Titles of the dashboard's widgets, for operators' runbooks and the tests. */
export const DASHBOARD_WIDGETS = Object.freeze({
  latency: 'API latency (ms; long polls last up to the long-poll wait)',
  requests: 'API requests, 4xx and 5xx',
  serverErrorRate: 'API 5xx rate (%)',
  duration: 'Lambda duration (ms)',
  errors: 'Lambda errors and throttles',
  concurrency: 'Lambda concurrent executions',
  capacity: 'DynamoDB consumed capacity units',
  throttles: 'DynamoDB throttle events',
  sets: 'SETs delivered, acked, redelivered, errored, expired, failed',
  variants: 'Polls by variant',
  longPolls: 'Long and short polls, long-poll waits',
  oldestSetAge: 'Oldest unacknowledged SET age (ms, max over recipients)',
  notifications: 'Notifications issued, fan-out continuations',
  alarms: 'Alarms',
} as const);

export interface PollDashboardProps {
  /**
   * @default - the stack name
   */
  readonly dashboardName?: string;
  readonly pollFunction: lambda.IFunction;
  /** The poll function's timeout, drawn on the duration graph. */
  readonly pollFunctionTimeout: Duration;
  /**
   * @default - no management function figures
   */
  readonly managementFunction?: lambda.IFunction;
  readonly stage: apigwv2.IHttpStage;
  readonly table: dynamodb.ITable;
  /** Its alarms are shown in an alarm status widget, and its thresholds drawn on the graphs. */
  readonly alarms: PollAlarms;
  /**
   * Further alarms for the alarm status widget (e.g. the fan-out continuation alarms).
   * @default - none
   */
  readonly moreAlarms?: readonly cloudwatch.IAlarm[];
}

/**
 * One CloudWatch dashboard with what an operator of setpoll looks at: the API (latency, 4xx,
 * 5xx), the Lambdas (duration, errors, concurrency, throttles), the table (capacity, throttles),
 * the SET flow (delivered, acked, redelivered, errored, expired), poll variants, the oldest
 * unacknowledged SET, and the state of every alarm.
 */
export class PollDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PollDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const { pollFunction: poll, managementFunction: management, stage, table, alarms } = props;
    const { thresholds } = alarms;
    const sum = { period, statistic: cloudwatch.Stats.SUM };
    const pollMetric = (metricName: string, label: string, statistic: string = cloudwatch.Stats.SUM) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: POLL_SERVICE }, statistic, period, label });
    const managementMetric = (metricName: string, label: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: MANAGEMENT_SERVICE }, statistic: cloudwatch.Stats.SUM, period, label });
    const functions: [string, lambda.IFunction][] = [['poll', poll], ...(management ? [['management', management] as [string, lambda.IFunction]] : [])];
    const graph = (title: string, left: cloudwatch.IMetric[], options: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period, ...options });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(6),
    });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# setpoll\nPoll-based SET delivery (RFC 8936). What each alarm means and what to do: `docs/observability.md`. ' +
          `Custom metrics: namespace \`${METRICS_NAMESPACE}\`, dimension \`service\` only; find the recipient behind a figure with the Logs Insights queries in that document.`,
        width: 24,
        height: 2,
      }),
    );

    this.dashboard.addWidgets(
      graph(DASHBOARD_WIDGETS.latency, [
        stage.metricLatency({ period, statistic: cloudwatch.Stats.p(50), label: 'p50' }),
        stage.metricLatency({ period, statistic: cloudwatch.Stats.p(99), label: 'p99' }),
        stage.metricIntegrationLatency({ period, statistic: cloudwatch.Stats.p(99), label: 'integration p99' }),
      ]),
      graph(DASHBOARD_WIDGETS.requests, [
        stage.metricCount({ ...sum, label: 'requests' }),
        stage.metricClientError({ ...sum, label: '4xx' }),
        stage.metricServerError({ ...sum, label: '5xx' }),
      ]),
      graph(DASHBOARD_WIDGETS.serverErrorRate, [alarms.serverErrorRate.metric], {
        leftAnnotations: [{ value: thresholds.serverErrorRatePercent, label: 'alarm' }],
        leftYAxis: { min: 0, max: 100 },
      }),
    );

    this.dashboard.addWidgets(
      graph(
        DASHBOARD_WIDGETS.duration,
        functions.flatMap(([name, fn]) => [
          fn.metricDuration({ period, statistic: cloudwatch.Stats.p(50), label: `${name} p50` }),
          fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99), label: `${name} p99` }),
          fn.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM, label: `${name} max` }),
        ]),
        {
          leftAnnotations: [
            { value: props.pollFunctionTimeout.toMilliseconds(), label: 'poll timeout', color: cloudwatch.Color.RED },
            { value: thresholds.pollDurationMs, label: 'poll alarm' },
          ],
        },
      ),
      graph(
        DASHBOARD_WIDGETS.errors,
        functions.flatMap(([name, fn]) => [fn.metricErrors({ ...sum, label: `${name} errors` }), fn.metricThrottles({ ...sum, label: `${name} throttles` })]),
      ),
      graph(
        DASHBOARD_WIDGETS.concurrency,
        functions.map(([name, fn]) => fn.metric('ConcurrentExecutions', { period, statistic: cloudwatch.Stats.MAXIMUM, label: name })),
      ),
    );

    this.dashboard.addWidgets(
      graph(DASHBOARD_WIDGETS.capacity, [
        table.metricConsumedReadCapacityUnits({ ...sum, label: 'read units' }),
        table.metricConsumedWriteCapacityUnits({ ...sum, label: 'write units' }),
      ]),
      graph(
        DASHBOARD_WIDGETS.throttles,
        [table.metric('ReadThrottleEvents', { ...sum, label: 'read throttles' }), table.metric('WriteThrottleEvents', { ...sum, label: 'write throttles' })],
        { leftAnnotations: [{ value: thresholds.tableThrottleEvents, label: 'alarm (read + write)' }] },
      ),
      graph(DASHBOARD_WIDGETS.oldestSetAge, [oldestSetAgeMetric({ period }).with({ label: 'oldest SET age' })], {
        leftAnnotations: [{ value: thresholds.oldestSetAgeMs, label: 'alarm' }],
      }),
    );

    this.dashboard.addWidgets(
      graph(DASHBOARD_WIDGETS.sets, [
        pollMetric(POLL_METRICS.delivered, 'delivered'),
        pollMetric(POLL_METRICS.acked, 'acked'),
        pollMetric(POLL_METRICS.redelivered, 'redelivered'),
        // Part of redelivered: SETs handed out to a request that acked, then never acked (a receiver ignoring poll answers).
        pollMetric(POLL_METRICS.redeliveredAfterAcks, 'redelivered after an ack request'),
        pollMetric(POLL_METRICS.errored, 'errored (setErrs)'),
        pollMetric(POLL_METRICS.expired, 'expired'),
        pollMetric(POLL_METRICS.failed, 'failed'),
      ]),
      graph(
        DASHBOARD_WIDGETS.variants,
        [pollMetric(POLL_METRICS.pollOnly, 'poll only'), pollMetric(POLL_METRICS.pollAndAck, 'poll + ack'), pollMetric(POLL_METRICS.ackOnly, 'ack only')],
        { stacked: true },
      ),
      graph(
        DASHBOARD_WIDGETS.longPolls,
        [pollMetric(POLL_METRICS.long, 'long polls'), pollMetric(POLL_METRICS.short, 'short polls')],
        { right: [pollMetric(POLL_METRICS.longPollWaits, 'long-poll waits'), pollMetric(POLL_METRICS.leaseConflicts, 'lease conflicts')] },
      ),
    );

    const statusRow: cloudwatch.IWidget[] = [];
    if (management) {
      statusRow.push(
        graph(DASHBOARD_WIDGETS.notifications, [
          managementMetric(MANAGEMENT_METRICS.notificationsIssued, 'notifications issued'),
          managementMetric(MANAGEMENT_METRICS.fanOutContinuations, 'fan-out continuations'),
        ]),
      );
    }
    statusRow.push(
      new cloudwatch.AlarmStatusWidget({
        title: DASHBOARD_WIDGETS.alarms,
        alarms: [...alarms.all, ...(props.moreAlarms ?? [])],
        width: management ? 16 : 24,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(...statusRow);
  }
}
