/**
 * Where the mTLS truststore lives: the stack's own versioned bucket (with a bucket for its S3
 * server access logs), or an existing object named by `s3://bucket/key`.
 */
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { RETAINED } from './removal.ts';
import { ConfigError } from './validation.ts';

/** Default S3 key of the mTLS truststore (PEM bundle of the CA certificates trusted for clients). */
export const DEFAULT_TRUSTSTORE_KEY = 'truststore.pem';

/** `s3://bucket/key` of an existing truststore. */
export function parseTruststoreUri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  if (!match) throw new ConfigError(`truststoreUri must be s3://bucket/key (got ${JSON.stringify(uri)})`);
  return { bucket: match[1]!, key: match[2]! };
}

/**
 * The stack's own truststore bucket and its access log bucket, in `scope` (which must have no
 * children yet: the log delivery setting is context on its node).
 */
export function createTruststoreBucket(
  scope: Construct,
  accessLogExpirationDays = 365,
): { truststoreBucket: s3.Bucket; accessLogBucket: s3.Bucket } {
  // Grant S3 log delivery through a bucket policy rather than the legacy LogDeliveryWrite ACL
  // (ACLs stay disabled: BucketOwnerEnforced). Pinned here so the construct does not depend on
  // the app's cdk.json feature flags.
  scope.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
  const accessLogBucket = new s3.Bucket(scope, 'AccessLogBucket', {
    // Server access log delivery only supports SSE-S3 on the target bucket.
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    lifecycleRules: [{ expiration: Duration.days(accessLogExpirationDays) }],
    removalPolicy: RETAINED,
  });
  // No server access logs on this bucket itself: it is the log target (logging it into
  // itself would recurse); cdk-nag's S1 recognises a log target bucket as compliant.

  const truststoreBucket = new s3.Bucket(scope, 'TruststoreBucket', {
    // Versioned so a truststore rotation can be pinned by version id and rolled back.
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogBucket,
    serverAccessLogsPrefix: 'truststore/',
    removalPolicy: RETAINED,
  });
  return { truststoreBucket, accessLogBucket };
}
