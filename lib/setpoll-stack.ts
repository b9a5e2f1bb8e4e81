import { Aws, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { AlarmTopic } from './constructs/alarm-topic.ts';
import { DeployRules } from './constructs/deploy-rules.ts';
import { ConfigError } from './constructs/validation.ts';
import { DnsAlias } from './constructs/dns-alias.ts';
import { FanOutContinuations } from './constructs/fan-out-continuations.ts';
import { OperatorPolicies } from './constructs/operator-policies.ts';
import { ManagementFunction } from './constructs/management-function.ts';
import { PollAlarms } from './constructs/poll-alarms.ts';
import { DEFAULT_POLL_PATH, PollApi } from './constructs/poll-api.ts';
import { PollDashboard } from './constructs/poll-dashboard.ts';
import { PollFunction } from './constructs/poll-function.ts';
import { ProducerAccess } from './constructs/producer-access.ts';
import { PublicJwks } from './constructs/public-jwks.ts';
import { SetQueueTable } from './constructs/set-queue-table.ts';
import { SigningKey } from './constructs/signing-key.ts';
import type { SetpollStackProps } from './setpoll-stack-props.ts';
import { addEndpointOutputs, addResourceOutputs } from './stack-outputs.ts';

export type { SetpollStackProps };

/** setpoll: RFC 8936 poll-based SET Transmitter (OB Aggregated Polling profile). */
export class SetpollStack extends Stack {
  public readonly queue: SetQueueTable;
  public readonly poll: PollFunction;
  public readonly signingKey: SigningKey;
  public readonly management: ManagementFunction;
  public readonly api: PollApi;
  public readonly alarms: PollAlarms;
  /** The topic every alarm notifies: the configured one, or the one this stack created. */
  public readonly alarmTopic: sns.ITopic;
  /** Present when the stack created the alarm topic (no `alarmTopicArn`). */
  public readonly createdAlarmTopic?: AlarmTopic;
  public readonly dashboard: PollDashboard;
  public readonly continuations: FanOutContinuations;
  public readonly operatorPolicies: OperatorPolicies;
  /** Present with a hosted zone, once the domain exists. */
  public readonly dnsAlias?: DnsAlias;
  /** What producers may do: grantEnqueue, the producer managed policy, other accounts' access. */
  public readonly producers: ProducerAccess;
  /** The public key endpoint, when `publicJwksDomainName` is set. */
  public readonly publicJwks?: PublicJwks;

  constructor(scope: Construct, id: string, props: SetpollStackProps) {
    super(scope, id, props);

    const tableKey = props.tableKmsKeyArn ? kms.Key.fromKeyArn(this, 'TableKey', props.tableKmsKeyArn) : undefined;
    this.queue = new SetQueueTable(this, 'Queue', { encryption: props.tableEncryption, encryptionKey: tableKey });

    this.poll = new PollFunction(this, 'Poll', {
      queue: this.queue,
      realm: props.domainName,
      tokenJwksUrl: props.tokenJwksUrl,
      tokenIssuer: props.tokenIssuer,
      tokenAudience: props.tokenAudience,
      tokenScopes: props.tokenScopes,
      leaseSeconds: props.leaseSeconds,
      longPollSeconds: props.longPollSeconds,
      maxEvents: props.maxEvents,
      maxDeliveryAttempts: props.maxDeliveryAttempts,
      erroredSets: props.erroredSets,
      memorySize: props.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: props.tracing,
      logRetention: props.functionLogRetention,
    });

    this.signingKey = new SigningKey(this, 'SigningKey', { algorithm: props.signingAlg, keyArn: props.signingKeyArn });

    this.management = new ManagementFunction(this, 'Management', {
      queue: this.queue,
      signingKey: this.signingKey,
      realm: props.domainName,
      issuer: props.setIssuer ?? `https://${props.domainName}`,
      pollUrl: `https://${props.domainName}${props.pollPath ?? DEFAULT_POLL_PATH}`,
      tokenJwksUrl: props.tokenJwksUrl,
      tokenIssuer: props.tokenIssuer,
      tokenAudience: props.tokenAudience,
      memorySize: props.managementMemorySize,
      notifierLimits: props.notifierLimits,
      reservedConcurrentExecutions: props.managementReservedConcurrentExecutions,
      tracing: props.tracing,
      logRetention: props.functionLogRetention,
    });

    this.api = new PollApi(this, 'Api', {
      handler: this.poll.function,
      managementHandler: this.management.function,
      domainName: props.domainName,
      certificateArn: props.certificateArn,
      ownershipCertificateArn: props.ownershipCertificateArn,
      pollPath: props.pollPath,
      truststoreKey: props.truststoreKey,
      truststoreVersion: props.truststoreVersion,
      truststoreUri: props.truststoreUri,
      createDomain: props.createDomain,
      throttleBurstLimit: props.throttleBurstLimit,
      throttleRateLimit: props.throttleRateLimit,
      accessLogRetention: props.accessLogRetention,
    });

    this.producers = new ProducerAccess(this, 'Producers', {
      queue: this.queue,
      signingKey: this.signingKey,
      signWithStackKey: props.producersSignWithStackKey,
      producerAccountIds: props.producerAccountIds,
    });
    if ((props.publicJwksDomainName === undefined) !== (props.publicJwksCertificateArn === undefined)) {
      throw new ConfigError('publicJwksDomainName and publicJwksCertificateArn go together: set both, or neither');
    }
    if (props.publicJwksDomainName && props.publicJwksCertificateArn) {
      this.publicJwks = new PublicJwks(this, 'PublicJwks', {
        queue: this.queue,
        signingKey: this.signingKey,
        domainName: props.publicJwksDomainName,
        certificateArn: props.publicJwksCertificateArn,
        // The SSF metadata is served there too (the management function serves it on the mTLS domain).
        issuer: props.setIssuer ?? `https://${props.domainName}`,
        createDomain: props.createDomain,
        accessLogRetention: props.accessLogRetention,
        logRetention: props.functionLogRetention,
      });
    }

    if (props.alarmTopicArn) {
      this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn);
    } else {
      this.createdAlarmTopic = new AlarmTopic(this, 'AlarmTopic');
      this.alarmTopic = this.createdAlarmTopic.topic;
    }

    this.alarms = new PollAlarms(this, 'Alarms', {
      ...props.alarmThresholds,
      function: this.poll.function,
      functionTimeout: this.poll.timeout,
      longPollSeconds: this.poll.longPollSeconds,
      managementFunction: this.management.function,
      managementFunctionTimeout: this.management.timeout,
      stage: this.api.stage,
      table: this.queue.table,
      alarmTopic: this.alarmTopic,
    });

    this.continuations = new FanOutContinuations(this, 'FanOutContinuations', {
      function: this.management.function,
      failedThreshold: props.alarmFailedContinuations,
      alarmTopic: this.alarmTopic,
    });

    this.dashboard = new PollDashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? `${this.stackName}-${Aws.REGION}`,
      pollFunction: this.poll.function,
      pollFunctionTimeout: this.poll.timeout,
      managementFunction: this.management.function,
      stage: this.api.stage,
      table: this.queue.table,
      alarms: this.alarms,
      moreAlarms: this.continuations.all,
    });

    addEndpointOutputs(this, props);
    if ((props.hostedZoneId === undefined) !== (props.hostedZoneName === undefined)) {
      throw new ConfigError('hostedZoneId and hostedZoneName go together: give both for a Route 53 alias record, or neither');
    }
    if (this.api.domainName && props.hostedZoneId && props.hostedZoneName) {
      this.dnsAlias = new DnsAlias(this, 'Dns', {
        domain: this.api.domainName,
        domainName: props.domainName,
        hostedZoneId: props.hostedZoneId,
        hostedZoneName: props.hostedZoneName,
      });
    }

    this.operatorPolicies = new OperatorPolicies(this, 'Operators', { queue: this.queue, signingKey: this.signingKey.key });

    new DeployRules(this, 'DeployRules', {
      certificateArn: props.certificateArn,
      publicJwksCertificateArn: props.publicJwksCertificateArn,
      placeholderSettings: props.placeholderSettings,
    });

    addResourceOutputs(this, props);
  }

  /**
   * Lets `grantee` queue SETs and nothing else: PutItem on queue partitions with queued-SET
   * attributes only (IAM conditions), and kms:Sign with the signing key unless producers sign with
   * their own keys.
   */
  public grantEnqueue(grantee: iam.IGrantable): iam.Grant {
    return this.producers.grantEnqueue(grantee);
  }
}
