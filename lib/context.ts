import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import type { AlarmThresholds } from './constructs/poll-alarms.ts';
import { SetQueueEncryption } from './constructs/set-queue-table.ts';
import { SIGNING_ALGORITHMS, isSigningAlgorithm } from './constructs/signing-key.ts';
import type { SetpollStackProps } from './setpoll-stack.ts';

/**
 * Placeholders that let `cdk synth` run out of the box. A deployment overrides them with
 * `-c key=value` or in cdk.json / cdk.context.json.
 */
export const PLACEHOLDERS = Object.freeze({
  domainName: 'events.example.com',
  certificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/00000000-0000-0000-0000-000000000000',
  tokenJwksUrl: 'https://auth.example.com/.well-known/jwks.json',
  tokenIssuer: 'https://auth.example.com',
});

/**
 * Builds the stack configuration from CDK context. Values given with `-c key=value` arrive as
 * strings, values from cdk.json keep their JSON type: both are accepted.
 *
 * | key                     | default / meaning                                                   |
 * |-------------------------|---------------------------------------------------------------------|
 * | domainName              | `events.example.com`                                                |
 * | certificateArn          | placeholder ACM ARN (must be replaced to deploy)                    |
 * | ownershipCertificateArn | none; needed with an imported/private-CA certificate                 |
 * | pollPath                | `/events`; e.g. `/open-banking/v4.0/events`                         |
 * | truststoreKey           | `truststore.pem`                                                    |
 * | truststoreVersion       | none (latest); pin to roll a truststore rotation out                 |
 * | createDomain            | `true`; `false` for the first deployment, before the truststore exists |
 * | leaseSeconds            | 30                                                                  |
 * | longPollSeconds         | 20 (at most 24)                                                     |
 * | maxEvents               | 100                                                                 |
 * | maxDeliveryAttempts     | 0 (unlimited)                                                       |
 * | memorySize              | 512                                                                 |
 * | reservedConcurrentExecutions | none (unreserved)                                              |
 * | tableEncryption         | `aws-managed` or `customer-managed`                                 |
 * | tableKmsKeyArn          | none; an existing key (implies customer-managed)                    |
 * | tokenJwksUrl            | placeholder https URL                                               |
 * | tokenIssuer             | placeholder                                                         |
 * | tokenAudience           | `https://{domainName}`                                              |
 * | tokenScopes             | `accounts fundsconfirmations payments` (space/comma list or array)  |
 * | signingAlg              | `PS256` (RSA_2048 key); `RS256` (RSA_2048) or `ES256` (ECC_NIST_P256) |
 * | signingKeyArn           | none (a new KMS key); an existing asymmetric SIGN_VERIFY key ARN     |
 * | setIssuer               | `https://{domainName}`: the `iss` of the SETs                        |
 * | managementMemorySize    | 1024                                                                |
 * | throttleBurstLimit      | 200                                                                 |
 * | throttleRateLimit       | 100                                                                 |
 * | alarmTopicArn           | none: the stack creates an encrypted topic (output AlarmTopicArn)   |
 * | alarmServerErrorRatePercent | 5: API 5xx share of requests (%) that alarms                    |
 * | alarmServerErrorMinRequests | 20: requests in 5 min below which the 5xx rate is not judged    |
 * | alarmTableThrottleEvents | 10: DynamoDB read + write throttle events in 5 min                 |
 * | alarmFunctionErrors     | 1: Lambda errors in 5 min, per function                             |
 * | alarmPollDurationSeconds | long poll + half the headroom to the timeout (22.5 at the defaults) |
 * | alarmManagementDurationSeconds | 80 % of the management timeout (23.2)                         |
 * | alarmOldestSetAgeMinutes | 60: oldest unacknowledged SET age seen by a poll                   |
 * | dashboardName           | the stack name                                                      |
 * | stackName               | `Setpoll` (read by bin/app.ts)                                      |
 */
export function stackPropsFromContext(node: Node): SetpollStackProps {
  const str = (key: string): string | undefined => {
    const v: unknown = node.tryGetContext(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new Error(`context ${key} must be a string (got ${JSON.stringify(v)})`);
    return v;
  };
  const num = (key: string): number | undefined => {
    const v: unknown = node.tryGetContext(key);
    if (v === undefined || v === null || v === '') return undefined;
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new Error(`context ${key} must be a number (got ${JSON.stringify(v)})`);
    return n;
  };
  const bool = (key: string): boolean | undefined => {
    const v: unknown = node.tryGetContext(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new Error(`context ${key} must be true or false (got ${JSON.stringify(v)})`);
  };
  const list = (key: string): string[] | undefined => {
    const v: unknown = node.tryGetContext(key);
    if (v === undefined || v === null || v === '') return undefined;
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
    if (typeof v === 'string') return v.split(/[\s,]+/).filter(Boolean);
    throw new Error(`context ${key} must be a list of strings (got ${JSON.stringify(v)})`);
  };

  // Deliberately unsupported: uploading CA material from the synth machine would put the trust
  // anchor of the API in a CDK asset and a BucketDeployment Lambda. Fail loudly, never ignore.
  if (node.tryGetContext('truststoreFile') !== undefined) {
    throw new Error(
      'context truststoreFile is not supported: upload the PEM to the TruststoreBucketName output ' +
        '(aws s3api put-object --bucket <bucket> --key truststore.pem --body <file>) and deploy with ' +
        '-c truststoreVersion=<VersionId>; see bin/app.ts',
    );
  }

  const encryption = str('tableEncryption');
  const encryptions = Object.values(SetQueueEncryption) as string[];
  if (encryption !== undefined && !encryptions.includes(encryption)) {
    throw new Error(`context tableEncryption must be one of ${encryptions.join(', ')} (got ${JSON.stringify(encryption)})`);
  }

  const signingAlg = str('signingAlg');
  if (signingAlg !== undefined && !isSigningAlgorithm(signingAlg)) {
    throw new Error(`context signingAlg must be one of ${SIGNING_ALGORITHMS.join(', ')} (got ${JSON.stringify(signingAlg)})`);
  }

  const seconds = (key: string): Duration | undefined => {
    const n = num(key);
    if (n === undefined) return undefined;
    if (!(n > 0)) throw new Error(`context ${key} must be a positive number (got ${n})`);
    return Duration.millis(Math.round(n * 1000));
  };
  const minutes = (key: string): Duration | undefined => {
    const n = num(key);
    if (n === undefined) return undefined;
    if (!(n > 0)) throw new Error(`context ${key} must be a positive number (got ${n})`);
    return Duration.millis(Math.round(n * 60_000));
  };
  const alarmThresholds: AlarmThresholds = {
    serverErrorRatePercent: num('alarmServerErrorRatePercent'),
    serverErrorMinRequests: num('alarmServerErrorMinRequests'),
    tableThrottleEvents: num('alarmTableThrottleEvents'),
    functionErrors: num('alarmFunctionErrors'),
    pollDuration: seconds('alarmPollDurationSeconds'),
    managementDuration: seconds('alarmManagementDurationSeconds'),
    oldestSetAge: minutes('alarmOldestSetAgeMinutes'),
  };

  const domainName = str('domainName') ?? PLACEHOLDERS.domainName;
  return {
    description: 'setpoll: RFC 8936 poll-based SET Transmitter',
    domainName,
    certificateArn: str('certificateArn') ?? PLACEHOLDERS.certificateArn,
    ownershipCertificateArn: str('ownershipCertificateArn'),
    pollPath: str('pollPath'),
    truststoreKey: str('truststoreKey'),
    truststoreVersion: str('truststoreVersion'),
    createDomain: bool('createDomain'),
    leaseSeconds: num('leaseSeconds'),
    longPollSeconds: num('longPollSeconds'),
    maxEvents: num('maxEvents'),
    maxDeliveryAttempts: num('maxDeliveryAttempts'),
    memorySize: num('memorySize'),
    reservedConcurrentExecutions: num('reservedConcurrentExecutions'),
    tableEncryption: encryption as SetQueueEncryption | undefined,
    tableKmsKeyArn: str('tableKmsKeyArn'),
    tokenJwksUrl: str('tokenJwksUrl') ?? PLACEHOLDERS.tokenJwksUrl,
    tokenIssuer: str('tokenIssuer') ?? PLACEHOLDERS.tokenIssuer,
    tokenAudience: str('tokenAudience') ?? `https://${domainName}`,
    tokenScopes: list('tokenScopes'),
    signingAlg,
    signingKeyArn: str('signingKeyArn'),
    setIssuer: str('setIssuer'),
    managementMemorySize: num('managementMemorySize'),
    throttleBurstLimit: num('throttleBurstLimit'),
    throttleRateLimit: num('throttleRateLimit'),
    alarmTopicArn: str('alarmTopicArn'),
    alarmThresholds,
    dashboardName: str('dashboardName'),
  };
}
