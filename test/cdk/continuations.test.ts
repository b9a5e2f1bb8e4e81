import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALARM_TOPIC_ARN, testStack } from './support.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** The logical id of the function of a service (POWERTOOLS_SERVICE_NAME). */
function functionId(template: Template, service: string): string {
  const found = Object.keys(
    template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: service } } } }),
  );
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('SetpollStack, fan-out continuations', () => {
  let template: Template;
  let resources: Resources;
  let managementId: string;
  let queueId: string;

  beforeAll(() => {
    template = Template.fromStack(testStack({ alarmTopicArn: ALARM_TOPIC_ARN }));
    resources = template.toJSON().Resources as Resources;
    managementId = functionId(template, 'setpoll-management');
    const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(1);
    queueId = queues[0]!;
  });

  it('let the management function recurse deliberately; the poll function keeps the loop guard', () => {
    // Prepare
    const pollId = functionId(template, 'setpoll');
    // Act / Assess
    expect(resources[managementId]!.Properties.RecursiveLoop).toBe('Allow');
    expect(resources[pollId]!.Properties.RecursiveLoop).toBeUndefined();
  });

  it('send a failed asynchronous invocation of the management function to an on-failure SQS queue, after Lambda retries it', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: managementId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21_600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
  });

  it('keep that queue encrypted, TLS-only and for 14 days', () => {
    // Prepare / Act / Assess
    expect(resources[queueId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });

  it('let only the management function send to the queue', () => {
    // Prepare
    const role = resources[managementId]!.Properties.Role['Fn::GetAtt'][0] as string;
    // Act
    const senders = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[] }[]).some((s) => [s.Action].flat().includes('sqs:SendMessage')),
    );
    // Assess
    expect(senders).toHaveLength(1);
    expect(senders[0]!.Properties.Roles).toEqual([{ Ref: role }]);
    expect(senders[0]!.Properties.PolicyDocument.Statement).toContainEqual({
      Effect: 'Allow',
      Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });

  it('alarm when a continuation failed all its attempts (a record in the queue)', () => {
    // Prepare / Act / Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [ALARM_TOPIC_ARN],
      AlarmDescription: Match.stringLikeRegexp('failed all its attempts.*docs/observability.md#failedcontinuations'),
    });
  });

  it('alarm when Lambda dropped a continuation or could not record its failure', () => {
    // Prepare
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter((a) =>
      String(a.Properties.AlarmDescription).includes('#droppedcontinuations'),
    );
    // Act
    const metrics = (alarms[0]!.Properties.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } } }[]);
    // Assess
    expect(alarms).toHaveLength(1);
    expect(alarms[0]!.Properties).toMatchObject({ Threshold: 1, AlarmActions: [ALARM_TOPIC_ARN] });
    expect(metrics.find((m) => m.Expression)!.Expression).toBe('FILL(dropped, 0) + FILL(undelivered, 0)');
    const named = metrics.filter((m) => m.MetricStat).map((m) => [m.Id, m.MetricStat!.Metric.MetricName, m.MetricStat!.Metric.Dimensions]);
    expect(named).toEqual([
      ['dropped', 'AsyncEventsDropped', [{ Name: 'FunctionName', Value: { Ref: managementId } }]],
      ['undelivered', 'DestinationDeliveryFailures', [{ Name: 'FunctionName', Value: { Ref: managementId } }]],
    ]);
  });

  it('take the failed-continuations threshold from props, and refuse a bad one', () => {
    // Prepare
    const t = Template.fromStack(testStack({ alarmFailedContinuations: 5 }));
    // Act / Assess
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 5 });
    expect(() => testStack({ alarmFailedContinuations: 0 })).toThrow(/^alarmFailedContinuations must be an integer >= 1 \(got 0\)$/);
  });

  it('output what a resume needs: the queue URL and the function name', () => {
    // Prepare / Act / Assess
    template.hasOutput('FanOutFailureQueueUrl', { Value: { Ref: queueId } });
    template.hasOutput('ManagementFunctionName', { Value: { Ref: managementId } });
  });
});
