#!/usr/bin/env node
/**
 * The setpoll CDK app. Environment-agnostic (no env, no lookups): `cdk synth` runs offline
 * without credentials; `cdk deploy` targets the credentials' account and region.
 *
 * Configuration is CDK context (keys and defaults: lib/context.ts), e.g.
 *   npx cdk deploy -c domainName=events.bank.example -c certificateArn=arn:aws:acm:... \
 *     -c pollPath=/open-banking/v4.0/events -c tokenJwksUrl=https://as.bank.example/jwks \
 *     -c tokenIssuer=https://as.bank.example -c tokenAudience=https://events.bank.example
 *
 * mTLS truststore. The stack creates the truststore bucket; the operator uploads the PEM bundle
 * of client CA certificates to it (CDK does not ship CA material). API Gateway refuses to create
 * the custom domain while that object is missing, so the first deployment is two steps:
 *   1. npx cdk deploy -c createDomain=false ...   (bucket, table, function, API: no public entry)
 *   2. aws s3api put-object --bucket <TruststoreBucketName> --key truststore.pem --body ca.pem
 *      npx cdk deploy -c truststoreVersion=<VersionId from put-object> ...
 * Rotation: upload a new version and deploy with its VersionId. API Gateway re-reads the
 * truststore only when the domain's mTLS settings change, so pinning the version is what
 * makes a rotation take effect (and makes a rollback a redeploy with the old id).
 *
 * SET signing key. The management API signs the SETs of notifications with an asymmetric KMS
 * key (the private key never leaves KMS) and publishes its public half at /jwks.json. By default
 * the stack creates one for -c signingAlg=PS256 (RSA_2048; also RS256, or ES256 with
 * ECC_NIST_P256), retained on stack deletion; -c signingKeyArn=arn:aws:kms:... uses an existing
 * SIGN_VERIFY key of a matching spec instead.
 *
 * Observability (docs/observability.md). Alarms (Lambda errors, throttles and duration, API 5xx
 * rate, DynamoDB throttles, oldest unacknowledged SET) notify -c alarmTopicArn=arn:aws:sns:...,
 * or, without it, a topic the stack creates, encrypted with its own KMS key (output
 * AlarmTopicArn: subscribe to it). Thresholds: -c alarm...=... (lib/context.ts). One dashboard,
 * named after the stack (-c dashboardName=...).
 */
import { App } from 'aws-cdk-lib';
import { stackPropsFromContext } from '../lib/context.ts';
import { addNagChecks } from '../lib/nag.ts';
import { SetpollStack } from '../lib/setpoll-stack.ts';

const app = new App();
new SetpollStack(app, String(app.node.tryGetContext('stackName') ?? 'Setpoll'), stackPropsFromContext(app.node));
addNagChecks(app);
app.synth();
