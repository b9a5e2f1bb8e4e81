/**
 * SetpollStackProps: every setting of a deployment, each with its default. lib/context.ts reads
 * them from a configuration file or `-c` context; lib/setpoll-stack.ts wires the constructs from them.
 * A setting handed unchanged to one construct is picked from that construct's props, so its meaning
 * and default are written once, there; the settings declared here are the stack's own.
 */
import type { StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { ManagementFunctionProps } from './constructs/management-function.ts';
import type { AlarmThresholds } from './constructs/poll-alarms.ts';
import type { PollApiProps } from './constructs/poll-api.ts';
import type { PollFunctionProps } from './constructs/poll-function.ts';
import type { SetQueueEncryption } from './constructs/set-queue-table.ts';
import type { SigningAlgorithm } from './constructs/signing-key.ts';

/** The mTLS domain, its truststore and the API stage: PollApiProps. */
type ApiSettings = Pick<
  PollApiProps,
  | 'domainName'
  | 'certificateArn'
  | 'ownershipCertificateArn'
  | 'pollPath'
  | 'truststoreKey'
  | 'truststoreVersion'
  | 'truststoreUri'
  | 'throttleBurstLimit'
  | 'throttleRateLimit'
  | 'accessLogRetention'
>;

/** The access tokens accepted and the poll semantics: PollFunctionProps (the token settings serve the management function too). */
type PollSettings = Pick<
  PollFunctionProps,
  | 'tokenJwksUrl'
  | 'tokenIssuer'
  | 'tokenAudience'
  | 'tokenScopes'
  | 'leaseSeconds'
  | 'longPollSeconds'
  | 'maxEvents'
  | 'maxDeliveryAttempts'
  | 'erroredSets'
  | 'memorySize'
  | 'reservedConcurrentExecutions'
>;

export interface SetpollStackProps extends StackProps, ApiSettings, PollSettings, Pick<ManagementFunctionProps, 'notifierLimits'> {
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
   * Create the mTLS custom domain (PollApiProps.createDomain); `false` also leaves out the public key domain.
   * @default - true once a truststore exists (`truststoreVersion` or `truststoreUri`), false before
   */
  readonly createDomain?: boolean;
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
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly functionLogRetention?: logs.RetentionDays;
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
