import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { ErroredSetsMode } from '../lambdas/contract.ts';
import { AlarmTopic } from './constructs/alarm-topic.ts';
import { DeployRules } from './constructs/deploy-rules.ts';
import { ConfigError } from './constructs/validation.ts';
import { DnsAlias } from './constructs/dns-alias.ts';
import { FanOutContinuations } from './constructs/fan-out-continuations.ts';
import { OperatorPolicies } from './constructs/operator-policies.ts';
import { ManagementFunction, type ManagementFunctionProps } from './constructs/management-function.ts';
import { PollAlarms, type AlarmThresholds } from './constructs/poll-alarms.ts';
import { DEFAULT_POLL_PATH, PollApi } from './constructs/poll-api.ts';
import { PollDashboard } from './constructs/poll-dashboard.ts';
import { PollFunction } from './constructs/poll-function.ts';
import { ProducerAccess } from './constructs/producer-access.ts';
import { PublicJwks } from './constructs/public-jwks.ts';
import { SetQueueEncryption, SetQueueTable } from './constructs/set-queue-table.ts';
import { SigningKey, type SigningAlgorithm } from './constructs/signing-key.ts';

export interface SetpollStackProps extends StackProps {
  /** Public host name of the poll endpoint, e.g. `events.example.com`. */
  readonly domainName: string;
  /** ACM certificate ARN for `domainName`, in the stack's region. */
  readonly certificateArn: string;
  /**
   * Route 53 public hosted zone to create an A alias record for `domainName` in (with
   * `hostedZoneName`). The zone is named, not looked up: synth stays offline.
   * @default - no record: point DNS at the RegionalDomainName output yourself
   */
  readonly hostedZoneId?: string;
  /**
   * Name of the `hostedZoneId` zone, e.g. `bank.example`.
   * @default - none
   */
  readonly hostedZoneName?: string;
  /**
   * Public ACM certificate proving domain ownership; required by API Gateway with mTLS when
   * `certificateArn` is imported or from a private CA.
   * @default - none
   */
  readonly ownershipCertificateArn?: string;
  /**
   * Poll endpoint path.
   * @default '/events'
   */
  readonly pollPath?: string;
  /**
   * S3 key of the mTLS truststore in the stack's truststore bucket.
   * @default 'truststore.pem'
   */
  readonly truststoreKey?: string;
  /**
   * S3 version id of the uploaded truststore. Giving it says the truststore exists: the mTLS
   * domain is created (PollApiProps.truststoreVersion).
   * @default - none: no truststore yet, so no domain (unless `truststoreUri`)
   */
  readonly truststoreVersion?: string;
  /**
   * An existing truststore `s3://bucket/key` instead of the stack's own bucket.
   * @default - the stack's truststore bucket
   */
  readonly truststoreUri?: string;
  /**
   * Create the mTLS custom domain; only possible once a truststore exists.
   * @default - true once a truststore exists (`truststoreVersion` or `truststoreUri`), false before
   */
  readonly createDomain?: boolean;
  /** @default 30 */
  readonly leaseSeconds?: number;
  /** @default 20 (at most 24) */
  readonly longPollSeconds?: number;
  /** @default 100 */
  readonly maxEvents?: number;
  /** @default 0 (unlimited) */
  readonly maxDeliveryAttempts?: number;
  /**
   * What a SET reported in `setErrs` becomes: `final` (RFC 8936) or `redeliver` (the OB
   * Aggregated Polling profile; needs `maxDeliveryAttempts` of at least 1). PollFunctionProps.erroredSets.
   * @default 'final'
   */
  readonly erroredSets?: ErroredSetsMode;
  /** @default 512 */
  readonly memorySize?: number;
  /** Poll function reserved concurrency. @default 100 (DEFAULT_POLL_RESERVED_CONCURRENCY) */
  readonly reservedConcurrentExecutions?: number;
  /** Management function reserved concurrency. @default 10 (DEFAULT_MANAGEMENT_RESERVED_CONCURRENCY) */
  readonly managementReservedConcurrentExecutions?: number;
  /**
   * X-Ray active tracing of both functions.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Table encryption.
   * @default SetQueueEncryption.AWS_MANAGED, or CUSTOMER_MANAGED when `tableKmsKeyArn` is set
   */
  readonly tableEncryption?: SetQueueEncryption;
  /**
   * Existing KMS key for the table (implies customer managed encryption).
   * @default - a new key when `tableEncryption` is CUSTOMER_MANAGED
   */
  readonly tableKmsKeyArn?: string;
  /** JWKS URL of the authorization server issuing access tokens (https). */
  readonly tokenJwksUrl: string;
  /** Expected access token issuer. */
  readonly tokenIssuer: string;
  /** Expected access token audience. */
  readonly tokenAudience: string;
  /** @default ['accounts', 'fundsconfirmations', 'payments', 'ssf.manage', 'ssf.manage.poll'] */
  readonly tokenScopes?: readonly string[];
  /**
   * JWS algorithm of the SETs the management API signs; selects the KMS key spec (RSA_2048 for
   * PS256 and RS256, ECC_NIST_P256 for ES256).
   * @default 'PS256'
   */
  readonly signingAlg?: SigningAlgorithm;
  /**
   * An existing asymmetric SIGN_VERIFY KMS key (key ARN) whose spec suits `signingAlg`.
   * @default - a new key, retained on stack deletion
   */
  readonly signingKeyArn?: string;
  /**
   * `iss` of the SETs the management API signs.
   * @default `https://{domainName}`
   */
  readonly setIssuer?: string;
  /** @default 1024 */
  readonly managementMemorySize?: number;
  /**
   * Per-Data-Provider limits of the Notifier (docs/server-policies.md, "Limits per Data Provider").
   * @default the contract's NOTIFIER_LIMIT_DEFAULTS
   */
  readonly notifierLimits?: ManagementFunctionProps['notifierLimits'];
  /** @default 200 */
  readonly throttleBurstLimit?: number;
  /** @default 100 */
  readonly throttleRateLimit?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly functionLogRetention?: logs.RetentionDays;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * An existing SNS topic for alarm notifications (its ARN). If it is encrypted, its KMS key must
   * let `cloudwatch.amazonaws.com` use kms:GenerateDataKey and kms:Decrypt.
   * @default - a new topic encrypted with its own KMS key (the `AlarmTopicArn` output): subscribe to it
   */
  readonly alarmTopicArn?: string;
  /**
   * Alarm thresholds (each documented with its default in AlarmThresholds).
   * @default - the defaults of AlarmThresholds
   */
  readonly alarmThresholds?: AlarmThresholds;
  /**
   * Host name of an optional public key domain without mTLS that serves only `GET /jwks.json`
   * (for receivers that fetch keys without a client certificate). Needs `publicJwksCertificateArn`.
   * @default - none: the JWKS is served only on the mTLS domain
   */
  readonly publicJwksDomainName?: string;
  /** ACM certificate for `publicJwksDomainName`, in the stack's region. */
  readonly publicJwksCertificateArn?: string;
  /**
   * AWS accounts of producers that may queue SETs (a table resource policy, PutItem on queue
   * partitions only) and sign with the stack's key.
   * @default - none
   */
  readonly producerAccountIds?: readonly string[];
  /**
   * Producers sign with the stack's KMS key: grantEnqueue and the producer policy include kms:Sign.
   * @default true
   */
  readonly producersSignWithStackKey?: boolean;
  /**
   * Records of failed fan-out continuations in their queue at or above which FailedContinuations fires.
   * @default 1
   */
  readonly alarmFailedContinuations?: number;
  /**
   * Name of the CloudWatch dashboard. Dashboards are global: the default carries the region so
   * that the same stack in two regions does not collide.
   * @default - `{stackName}-{region}`
   */
  readonly dashboardName?: string;
  /**
   * Settings that carry placeholders (lib/context.ts, allowPlaceholders): a CloudFormation rule
   * then refuses to deploy the template.
   * @default - none
   */
  readonly placeholderSettings?: readonly string[];
}

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

    if (this.api.domainName) {
      new CfnOutput(this, 'PollUrl', { value: this.api.pollUrl, description: 'The poll endpoint (mTLS)' });
      new CfnOutput(this, 'ManagementUrl', {
        value: this.api.managementUrl,
        description: 'The management API: /destinations, /notifications (mTLS, notifications:read / notifications:write)',
      });
      new CfnOutput(this, 'JwksUrl', { value: this.api.jwksUrl, description: 'The public keys that verify the SETs' });
      new CfnOutput(this, 'RegionalDomainName', {
        value: this.api.domainName.regionalDomainName,
        description: `DNS target: CNAME (or Route 53 alias) ${props.domainName} to this name`,
      });
      new CfnOutput(this, 'RegionalHostedZoneId', {
        value: this.api.domainName.regionalHostedZoneId,
        description: 'Hosted zone id of RegionalDomainName, for a Route 53 alias record made elsewhere',
      });
    }
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

    new CfnOutput(this, 'TableName', { value: this.queue.table.tableName, description: 'The SET queue table' });
    new CfnOutput(this, 'TableArn', { value: this.queue.table.tableArn, description: 'The SET queue table (for producers\' policies)' });
    new CfnOutput(this, 'ProducerPolicyArn', {
      value: this.producers.managedPolicy.managedPolicyArn,
      description: 'Attach to producer roles: PutItem on queue partitions only, and kms:Sign with the signing key',
    });
    if (this.publicJwks) {
      new CfnOutput(this, 'PublicJwksUrl', { value: this.publicJwks.url, description: 'The SET verification keys, without mTLS' });
      if (this.publicJwks.domainName) {
        new CfnOutput(this, 'PublicJwksRegionalDomainName', {
          value: this.publicJwks.domainName.regionalDomainName,
          description: `DNS target: CNAME (or Route 53 alias) ${props.publicJwksDomainName} to this name`,
        });
      }
    }
    new CfnOutput(this, 'TruststoreBucketName', {
      value: this.api.truststoreBucket.bucketName,
      description: this.api.domainName
        ? `The client CA bundle (PEM) is ${this.api.truststoreKey} here`
        : `Upload the client CA bundle (PEM) here as ${this.api.truststoreKey}, then deploy with -c truststoreVersion=<VersionId>`,
    });
    new CfnOutput(this, 'SigningKeyArn', { value: this.signingKey.key.keyArn, description: 'The KMS key that signs the SETs' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Where the alarms notify: subscribe to it' });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName, description: 'The CloudWatch dashboard' });
    new CfnOutput(this, 'ManagementFunctionName', {
      value: this.management.function.functionName,
      description: 'The management Lambda: resume a stalled fan-out by invoking it (docs/runbook.md)',
    });
    new CfnOutput(this, 'FanOutFailureQueueUrl', {
      value: this.continuations.failureQueue.queueUrl,
      description: 'Failed fan-out continuations, to resume (docs/runbook.md)',
    });
    new CfnOutput(this, 'OperatorReadOnlyPolicyArn', {
      value: this.operatorPolicies.readOnly.managedPolicyArn,
      description: 'Attach to operators who read backlogs and recipients (docs/runbook.md)',
    });
    new CfnOutput(this, 'OperatorAdminPolicyArn', {
      value: this.operatorPolicies.admin.managedPolicyArn,
      description: 'Attach to operators who register, rotate and revoke recipients, purge and replay (docs/runbook.md)',
    });
    new CfnOutput(this, 'TruststoreUri', { value: this.api.truststoreUri, description: 'The mTLS truststore' });
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
