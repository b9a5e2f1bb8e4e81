import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, POLL_METRICS, POLL_SERVICE } from '../../lambdas/observability/metric-names.ts';
import { DASHBOARD_WIDGETS } from '../../lib/constructs/poll-dashboard.ts';
import { stackPropsFromContext } from '../../lib/context.ts';
import { SetpollStack, type SetpollStackProps } from '../../lib/setpoll-stack.ts';
import { ALARM_TOPIC_ARN, BASE_PROPS, testApp, testStack } from './support.ts';

type Resource = { Type: string; Properties: Record<string, any> };

/** The alarms of a template by their construct id in PollAlarms (`FunctionErrors`, ...). */
function alarmsById(template: Template): Record<string, Resource['Properties']> {
  return Object.fromEntries(
    Object.entries(template.findResources('AWS::CloudWatch::Alarm')).map(([logicalId, r]) => [
      logicalId.replace(/^Alarms/, '').replace(/[0-9A-F]{8}$/, ''),
      (r as Resource).Properties,
    ]),
  );
}

function only(template: Template, type: string): { logicalId: string; properties: Record<string, any> } {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return { logicalId: found[0]![0], properties: (found[0]![1] as Resource).Properties };
}

const logicalIdOf = (template: Template, type: string, pattern: RegExp): string => {
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  expect(ids).toHaveLength(1);
  return ids[0]!;
};

interface Widget {
  type: string;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    alarms?: string[];
    annotations?: { horizontal?: { value: number; label?: string }[] };
    stacked?: boolean;
  };
}

/**
 * The dashboard body as the console sees it: CloudFormation joins string parts and tokens; the
 * tokens (Refs, GetAtts) become `{{Ref:Id}}` / `{{GetAtt:Id.Attr}}` placeholders here.
 */
function dashboardWidgets(template: Template): Widget[] {
  const body = only(template, 'AWS::CloudWatch::Dashboard').properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1]
          .map((part) => {
            if (typeof part === 'string') return part;
            const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
            if (token.Ref) return `{{Ref:${token.Ref}}}`;
            if (token['Fn::GetAtt']) return `{{GetAtt:${token['Fn::GetAtt'].join('.')}}}`;
            throw new Error(`Unexpected token in the dashboard body: ${JSON.stringify(part)}`);
          })
          .join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

const widgetTitled = (widgets: Widget[], title: string): Widget => {
  const found = widgets.filter((w) => w.properties.title === title);
  expect(found, title).toHaveLength(1);
  return found[0]!;
};

/** `[namespace, metricName]` of each metric row of a graph widget (rows are [ns, name, dims..., options]). */
const metricNames = (widget: Widget): string[] =>
  (widget.properties.metrics ?? []).map((row) => (row[0] === '.' ? '' : `${row[0] as string} ${row[1] as string}`));

describe('observability', () => {
  let template: Template;
  let importedTopicTemplate: Template;

  beforeAll(() => {
    template = Template.fromStack(testStack());
    importedTopicTemplate = Template.fromStack(testStack({ alarmTopicArn: ALARM_TOPIC_ARN }));
  });

  describe('alarms', () => {
    it('exist for Lambda errors, throttles and duration, the API 5xx rate, DynamoDB throttles and the oldest SET age', () => {
      // Prepare / Act
      const alarms = alarmsById(template);
      // Assess
      expect(Object.keys(alarms).sort()).toEqual(
        [
          'FanOutContinuationsDroppedContinuations',
          'FanOutContinuationsFailedContinuations',
          'FunctionErrors',
          'FunctionThrottles',
          'ManagementDuration',
          'ManagementFunctionErrors',
          'OldestSetAge',
          'PollDuration',
          'RedeliveredAfterAcks',
          'ServerErrorRate',
          'TableThrottles',
        ].sort(),
      );
      for (const alarm of Object.values(alarms)) {
        expect(alarm).toMatchObject({
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
          AlarmDescription: expect.stringContaining('docs/observability.md#'),
        });
      }
    });

    it('watch the Lambda errors and throttles of the right functions', () => {
      // Prepare
      const poll = logicalIdOf(template, 'AWS::Lambda::Function', /^PollFunction/);
      const management = logicalIdOf(template, 'AWS::Lambda::Function', /^ManagementFunction/);
      const alarms = alarmsById(template);
      const lambdaMetric = (name: string, fn: string) => ({
        Namespace: 'AWS/Lambda',
        MetricName: name,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
      });
      // Act / Assess
      expect(alarms.FunctionErrors).toMatchObject(lambdaMetric('Errors', poll));
      expect(alarms.FunctionThrottles).toMatchObject(lambdaMetric('Throttles', poll));
      expect(alarms.ManagementFunctionErrors).toMatchObject(lambdaMetric('Errors', management));
    });

    it('judge the API 5xx rate, not single 5xx answers, and only over enough requests', () => {
      // Prepare
      const api = logicalIdOf(template, 'AWS::ApiGatewayV2::Api', /^ApiHttpApi/);
      const stageMetric = (id: string, name: string) => ({
        Id: id,
        ReturnData: false,
        MetricStat: {
          Metric: { Namespace: 'AWS/ApiGateway', MetricName: name, Dimensions: [{ Name: 'ApiId', Value: { Ref: api } }, { Name: 'Stage', Value: '$default' }] },
          Period: 300,
          Stat: 'Sum',
        },
      });
      // Act
      const rate = alarmsById(template).ServerErrorRate!;
      // Assess
      expect(rate.Threshold).toBe(5);
      expect(rate.MetricName).toBeUndefined();
      expect(rate.Metrics).toEqual([
        { Id: 'expr_1', Expression: 'IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)', Label: 'API 5xx rate (%)', ReturnData: true },
        stageMetric('errors', '5xx'),
        stageMetric('requests', 'Count'),
      ]);
    });

    it('sum the table read and write throttle events', () => {
      // Prepare
      const table = only(template, 'AWS::DynamoDB::Table').logicalId;
      const tableMetric = (id: string, name: string) => ({
        Id: id,
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'AWS/DynamoDB', MetricName: name, Dimensions: [{ Name: 'TableName', Value: { Ref: table } }] }, Period: 300, Stat: 'Sum' },
      });
      // Act
      const throttles = alarmsById(template).TableThrottles!;
      // Assess
      expect(throttles.Threshold).toBe(10);
      expect(throttles.Metrics).toEqual([
        { Id: 'expr_1', Expression: 'FILL(reads, 0) + FILL(writes, 0)', Label: 'DynamoDB throttle events', ReturnData: true },
        tableMetric('reads', 'ReadThrottleEvents'),
        tableMetric('writes', 'WriteThrottleEvents'),
      ]);
    });

    it('fire on p99 duration between the long poll and the timeout (poll) and at 80 % of the timeout (management)', () => {
      // Prepare
      const poll = logicalIdOf(template, 'AWS::Lambda::Function', /^PollFunction/);
      const management = logicalIdOf(template, 'AWS::Lambda::Function', /^ManagementFunction/);
      const timeouts = Object.fromEntries(
        Object.entries(template.findResources('AWS::Lambda::Function')).map(([id, r]) => [id, (r as Resource).Properties.Timeout as number]),
      );
      // Act
      const alarms = alarmsById(template);
      // Assess: a 20 s long poll and a 25 s timeout: half the 5 s headroom is 22.5 s.
      expect(timeouts[poll]).toBe(25);
      expect(alarms.PollDuration).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        ExtendedStatistic: 'p99',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: poll } }],
        Threshold: 22_500,
      });
      expect(timeouts[management]).toBe(29);
      expect(alarms.ManagementDuration).toMatchObject({
        MetricName: 'Duration',
        ExtendedStatistic: 'p99',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: management } }],
        Threshold: 23_200,
      });
    });

    it('watch the oldest SET age from the EMF metric: Maximum over every recipient, service dimension only', () => {
      // Prepare / Act
      const age = alarmsById(template).OldestSetAge!;
      // Assess
      expect(age).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: POLL_METRICS.oldestSetAge,
        Dimensions: [{ Name: 'service', Value: POLL_SERVICE }],
        Statistic: 'Maximum',
        Period: 300,
        Threshold: 3_600_000,
      });
    });

    it('watch receivers that drop poll answers: SetsRedeliveredAfterAcks, Sum over every recipient, 10 in 5 minutes', () => {
      // Prepare / Act
      const redelivered = alarmsById(template).RedeliveredAfterAcks!;
      // Assess
      expect(redelivered).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: POLL_METRICS.redeliveredAfterAcks,
        Dimensions: [{ Name: 'service', Value: POLL_SERVICE }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 10,
        AlarmDescription: expect.stringContaining('docs/observability.md#redeliveredafteracks'),
      });
    });

    it('take thresholds from props; the poll duration default follows the long poll', () => {
      // Prepare
      const custom = Template.fromStack(
        testStack({
          longPollSeconds: 10,
          alarmThresholds: {
            serverErrorRatePercent: 2.5,
            serverErrorMinRequests: 100,
            tableThrottleEvents: 1,
            functionErrors: 3,
            managementDuration: Duration.seconds(20),
            oldestSetAge: Duration.minutes(15),
            redeliveredAfterAcks: 3,
          },
        }),
      );
      // Act
      const alarms = alarmsById(custom);
      // Assess: a 10 s long poll, a 15 s timeout: 12.5 s.
      expect(alarms.PollDuration!.Threshold).toBe(12_500);
      expect(alarms.ServerErrorRate!.Threshold).toBe(2.5);
      expect(alarms.ServerErrorRate!.Metrics[0].Expression).toBe('IF(requests >= 100, 100 * FILL(errors, 0) / requests, 0)');
      expect(alarms.TableThrottles!.Threshold).toBe(1);
      expect(alarms.FunctionErrors!.Threshold).toBe(3);
      expect(alarms.ManagementFunctionErrors!.Threshold).toBe(3);
      expect(alarms.ManagementDuration!.Threshold).toBe(20_000);
      expect(alarms.OldestSetAge!.Threshold).toBe(900_000);
      expect(alarms.RedeliveredAfterAcks!.Threshold).toBe(3);
    });
  });

  describe('alarm topic', () => {
    it('is created, encrypted with its own rotating key that CloudWatch may use, TLS only, when none is configured', () => {
      // Prepare
      const topic = only(template, 'AWS::SNS::Topic');
      const keyId = logicalIdOf(template, 'AWS::KMS::Key', /^AlarmTopicKey/);
      const key = (template.toJSON().Resources[keyId] as Resource).Properties;
      const topicPolicy = only(template, 'AWS::SNS::TopicPolicy').properties;
      // Act
      const alarms = Object.values(alarmsById(template));
      // Assess
      expect(topic.properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      expect(key.EnableKeyRotation).toBe(true);
      expect(key.KeyPolicy.Statement).toContainEqual({
        Sid: 'AllowCloudWatchAlarmsToPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: '*',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      });
      expect(topicPolicy.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      // The topic policy replaces SNS's default one, so CloudWatch needs its own Allow to publish.
      expect(topicPolicy.PolicyDocument.Statement).toContainEqual({
        Sid: 'AllowCloudWatchAlarmsToPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topic.logicalId },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] },
          },
        },
      });
      for (const alarm of alarms) {
        expect(alarm.AlarmActions).toEqual([{ Ref: topic.logicalId }]);
        expect(alarm.OKActions).toEqual([{ Ref: topic.logicalId }]);
      }
      template.hasOutput('AlarmTopicArn', { Value: { Ref: topic.logicalId } });
    });

    it('is the configured one when alarmTopicArn is given: no topic or key of its own', () => {
      // Prepare / Act
      const alarms = Object.values(alarmsById(importedTopicTemplate));
      // Assess
      expect(alarms).toHaveLength(11);
      for (const alarm of alarms) {
        expect(alarm.AlarmActions).toEqual([ALARM_TOPIC_ARN]);
        expect(alarm.OKActions).toEqual([ALARM_TOPIC_ARN]);
      }
      importedTopicTemplate.resourceCountIs('AWS::SNS::Topic', 0);
      expect(Object.keys(importedTopicTemplate.findResources('AWS::KMS::Key')).filter((id) => id.startsWith('AlarmTopic'))).toEqual([]);
      importedTopicTemplate.hasOutput('AlarmTopicArn', { Value: ALARM_TOPIC_ARN });
    });

    it('and the thresholds come from CDK context', () => {
      // Prepare
      const app = new App({
        context: {
          alarmTopicArn: ALARM_TOPIC_ARN,
          alarmServerErrorRatePercent: '1',
          alarmServerErrorMinRequests: 50,
          alarmTableThrottleEvents: '3',
          alarmFunctionErrors: '2',
          alarmPollDurationSeconds: '23.5',
          alarmManagementDurationSeconds: '25',
          alarmOldestSetAgeMinutes: '30',
          alarmRedeliveredAfterAcks: '25',
          dashboardName: 'setpoll-prod',
          allowPlaceholders: 'true',
        },
      });
      // Act
      const props = stackPropsFromContext(app.node);
      const alarms = alarmsById(Template.fromStack(new SetpollStack(testApp(), 'FromContext', { ...props, ...pick(BASE_PROPS) })));
      // Assess
      expect(props.alarmTopicArn).toBe(ALARM_TOPIC_ARN);
      expect(props.dashboardName).toBe('setpoll-prod');
      expect(alarms.ServerErrorRate!.Threshold).toBe(1);
      expect(alarms.ServerErrorRate!.Metrics[0].Expression).toContain('requests >= 50');
      expect(alarms.TableThrottles!.Threshold).toBe(3);
      expect(alarms.FunctionErrors!.Threshold).toBe(2);
      expect(alarms.PollDuration!.Threshold).toBe(23_500);
      expect(alarms.ManagementDuration!.Threshold).toBe(25_000);
      expect(alarms.OldestSetAge!.Threshold).toBe(1_800_000);
      expect(alarms.RedeliveredAfterAcks!.Threshold).toBe(25);
      expect(alarms.OldestSetAge!.AlarmActions).toEqual([ALARM_TOPIC_ARN]);
    });

    it.each([
      ['alarmOldestSetAgeMinutes', '0', /alarmOldestSetAgeMinutes must be a positive number/],
      ['alarmPollDurationSeconds', 'soon', /alarmPollDurationSeconds must be a number/],
      ['alarmServerErrorRatePercent', 'five', /alarmServerErrorRatePercent must be a number/],
    ])('rejects context %s=%s', (key, value, message) => {
      // Prepare
      const app = new App({ context: { [key]: value, allowPlaceholders: true } });
      // Act / Assess
      expect(() => stackPropsFromContext(app.node)).toThrow(message);
    });
  });

  describe('dashboard', () => {
    it('exists, named after the stack and the region unless named', () => {
      // Prepare / Act
      const { properties } = only(template, 'AWS::CloudWatch::Dashboard');
      const named = only(Template.fromStack(testStack({ dashboardName: 'setpoll-prod' })), 'AWS::CloudWatch::Dashboard').properties;
      // Assess
      expect(properties.DashboardName).toEqual({ 'Fn::Join': ['', ['Test-', { Ref: 'AWS::Region' }]] });
      expect(named.DashboardName).toBe('setpoll-prod');
      template.hasOutput('DashboardName', {});
    });

    it('has every documented widget, once', () => {
      // Prepare / Act
      const titles = dashboardWidgets(template)
        .map((w) => w.properties.title)
        .filter((t): t is string => t !== undefined);
      // Assess
      expect(titles.sort()).toEqual(Object.values(DASHBOARD_WIDGETS).sort());
    });

    it('plots the SET flow, poll variants and the oldest SET age from the setpoll namespace', () => {
      // Prepare
      const widgets = dashboardWidgets(template);
      // Act
      const sets = widgetTitled(widgets, DASHBOARD_WIDGETS.sets);
      const variants = widgetTitled(widgets, DASHBOARD_WIDGETS.variants);
      const longPolls = widgetTitled(widgets, DASHBOARD_WIDGETS.longPolls);
      const age = widgetTitled(widgets, DASHBOARD_WIDGETS.oldestSetAge);
      // Assess
      const ns = (names: string[]) => names.map((n) => `${METRICS_NAMESPACE} ${n}`);
      expect(metricNames(sets)).toEqual(
        ns([
          POLL_METRICS.delivered,
          POLL_METRICS.acked,
          POLL_METRICS.redelivered,
          POLL_METRICS.redeliveredAfterAcks,
          POLL_METRICS.errored,
          POLL_METRICS.expired,
          POLL_METRICS.failed,
        ]),
      );
      for (const row of sets.properties.metrics!) expect(row.slice(2, 4)).toEqual(['service', POLL_SERVICE]);
      expect(metricNames(variants)).toEqual(ns([POLL_METRICS.pollOnly, POLL_METRICS.pollAndAck, POLL_METRICS.ackOnly]));
      expect(variants.properties.stacked).toBe(true);
      expect(metricNames(longPolls)).toEqual(ns([POLL_METRICS.long, POLL_METRICS.short, POLL_METRICS.longPollWaits, POLL_METRICS.leaseConflicts]));
      expect(metricNames(age)).toEqual(ns([POLL_METRICS.oldestSetAge]));
      expect(age.properties.metrics![0]!.at(-1)).toMatchObject({ stat: 'Maximum' });
      expect(age.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 3_600_000, label: 'alarm' })]);
    });

    it('plots API latency, 4xx/5xx and the 5xx rate, Lambda duration/errors/throttles/concurrency and DynamoDB capacity and throttles', () => {
      // Prepare
      const widgets = dashboardWidgets(template);
      const poll = logicalIdOf(template, 'AWS::Lambda::Function', /^PollFunction/);
      const table = only(template, 'AWS::DynamoDB::Table').logicalId;
      // Act
      const names = (title: string) => metricNames(widgetTitled(widgets, title));
      const rows = (title: string) => JSON.stringify(widgetTitled(widgets, title).properties.metrics);
      // Assess
      expect(names(DASHBOARD_WIDGETS.latency)).toEqual(['AWS/ApiGateway Latency', 'AWS/ApiGateway Latency', 'AWS/ApiGateway IntegrationLatency']);
      expect(names(DASHBOARD_WIDGETS.requests)).toEqual(['AWS/ApiGateway Count', 'AWS/ApiGateway 4xx', 'AWS/ApiGateway 5xx']);
      expect(rows(DASHBOARD_WIDGETS.serverErrorRate)).toContain('IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)');
      expect(names(DASHBOARD_WIDGETS.duration)).toEqual(Array(6).fill('AWS/Lambda Duration'));
      expect(rows(DASHBOARD_WIDGETS.duration)).toContain(`{{Ref:${poll}}}`);
      expect(widgetTitled(widgets, DASHBOARD_WIDGETS.duration).properties.annotations?.horizontal).toEqual(
        [expect.objectContaining({ value: 25_000, label: 'poll timeout' }), expect.objectContaining({ value: 22_500, label: 'poll alarm' })],
      );
      expect(names(DASHBOARD_WIDGETS.errors)).toEqual(['AWS/Lambda Errors', 'AWS/Lambda Throttles', 'AWS/Lambda Errors', 'AWS/Lambda Throttles']);
      expect(names(DASHBOARD_WIDGETS.concurrency)).toEqual(['AWS/Lambda ConcurrentExecutions', 'AWS/Lambda ConcurrentExecutions']);
      expect(names(DASHBOARD_WIDGETS.capacity)).toEqual(['AWS/DynamoDB ConsumedReadCapacityUnits', 'AWS/DynamoDB ConsumedWriteCapacityUnits']);
      expect(names(DASHBOARD_WIDGETS.throttles)).toEqual(['AWS/DynamoDB ReadThrottleEvents', 'AWS/DynamoDB WriteThrottleEvents']);
      expect(rows(DASHBOARD_WIDGETS.capacity)).toContain(`{{Ref:${table}}}`);
    });

    it('shows the state of every alarm', () => {
      // Prepare
      const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
      // Act
      const status = widgetTitled(dashboardWidgets(template), DASHBOARD_WIDGETS.alarms);
      // Assess
      expect(status.type).toBe('alarm');
      expect(status.properties.alarms!.sort()).toEqual(alarmIds.map((id) => `{{GetAtt:${id}.Arn}}`).sort());
    });
  });

  describe('invalid alarm thresholds', () => {
    it.each<[string, SetpollStackProps['alarmThresholds'] & {}, RegExp, Partial<SetpollStackProps>?]>([
      ['a zero 5xx rate', { serverErrorRatePercent: 0 }, /serverErrorRatePercent must be over 0 and at most 100 \(got 0\)/],
      ['a negative 5xx rate', { serverErrorRatePercent: -1 }, /serverErrorRatePercent must be over 0/],
      ['a 5xx rate over 100 %', { serverErrorRatePercent: 101 }, /serverErrorRatePercent must be over 0 and at most 100 \(got 101\)/],
      ['no minimum of requests', { serverErrorMinRequests: 0 }, /serverErrorMinRequests must be an integer >= 1 \(got 0\)/],
      ['a fractional minimum of requests', { serverErrorMinRequests: 1.5 }, /serverErrorMinRequests must be an integer >= 1/],
      ['a zero throttle threshold', { tableThrottleEvents: 0 }, /tableThrottleEvents must be an integer >= 1 \(got 0\)/],
      ['a zero error threshold', { functionErrors: 0 }, /functionErrors must be an integer >= 1 \(got 0\)/],
      ['a zero redelivery threshold', { redeliveredAfterAcks: 0 }, /redeliveredAfterAcks must be an integer >= 1 \(got 0\)/],
      ['a zero poll duration', { pollDuration: Duration.seconds(0) }, /pollDuration must be a positive duration/],
      ['a poll duration every idle long poll reaches', { pollDuration: Duration.seconds(20) }, /pollDuration must be longer than the 20 s long poll .* shorter than the 25 s timeout \(got 20 s\)/],
      ['a poll duration at the timeout', { pollDuration: Duration.seconds(25) }, /pollDuration must be .* shorter than the 25 s timeout \(got 25 s\)/],
      ['a poll duration over the timeout', { pollDuration: Duration.seconds(30) }, /pollDuration must be .* shorter than the 25 s timeout/],
      ['a poll duration under a shorter long poll', { pollDuration: Duration.seconds(5) }, /longer than the 10 s long poll/, { longPollSeconds: 10 }],
      ['a management duration at the timeout', { managementDuration: Duration.seconds(29) }, /managementDuration must be shorter than the 29 s timeout \(got 29 s\)/],
      ['a zero management duration', { managementDuration: Duration.millis(0) }, /managementDuration must be a positive duration/],
      ['a zero oldest SET age', { oldestSetAge: Duration.minutes(0) }, /oldestSetAge must be a positive duration/],
    ])('rejects %s', (_name, alarmThresholds, message, extra = {}) => {
      // Prepare / Act / Assess
      expect(() => testStack({ ...extra, alarmThresholds })).toThrow(message);
    });
  });
});

/** The required props of BASE_PROPS (context gives placeholders for them). */
function pick(props: SetpollStackProps): Pick<SetpollStackProps, 'domainName' | 'certificateArn' | 'tokenJwksUrl' | 'tokenIssuer' | 'tokenAudience'> {
  const { domainName, certificateArn, tokenJwksUrl, tokenIssuer, tokenAudience } = props;
  return { domainName, certificateArn, tokenJwksUrl, tokenIssuer, tokenAudience };
}
