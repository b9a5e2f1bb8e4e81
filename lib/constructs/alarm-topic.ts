import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  /**
   * Display name of the topic (the sender name of e-mail notifications).
   * @default 'setpoll alarms'
   */
  readonly displayName?: string;
}

/**
 * The SNS topic the alarms notify when the deployment names none (`alarmTopicArn`): encrypted at
 * rest with its own customer managed KMS key and reachable over TLS only. Subscribe to it
 * (e-mail, chat, paging) after the deployment; its ARN is the `AlarmTopicArn` output.
 *
 * A customer managed key, not the AWS managed `alias/aws/sns`: CloudWatch alarms cannot publish
 * to a topic encrypted with the AWS managed key, whose policy cannot be changed to let the
 * CloudWatch service principal use it.
 */
export class AlarmTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlarmTopicProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the setpoll alarm topic',
      enableKeyRotation: true,
      // Notifications are transient: nothing stays encrypted under this key once the topic is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm state changes to the encrypted topic: it needs the data key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: props.displayName ?? 'setpoll alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, and a topic policy replaces SNS's default one: without this
    // statement the CloudWatch service principal may not publish, and alarms notify no one.
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
        },
      }),
    );
  }
}
