/**
 * The parts both of setpoll's HTTP APIs (the mTLS one of PollApi, the public key one of PublicJwks)
 * are built from: an API reachable only through its Regional custom domain, Lambda integrations in
 * payload format 2.0, and a `$default` stage with throttling and the access log line below.
 */
import { Stack, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { RETAINED } from './removal.ts';

/**
 * Access log line: who called (source IP, client certificate identity), what was routed, and
 * how it ended. Deliberately no headers (Authorization carries the bearer token), no query
 * string and no bodies (SETs and acknowledgements).
 */
export const ACCESS_LOG_FORMAT: Readonly<Record<string, string>> = Object.freeze({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  clientCertSubject: '$context.identity.clientCert.subjectDN',
  clientCertIssuer: '$context.identity.clientCert.issuerDN',
  clientCertSerial: '$context.identity.clientCert.serialNumber',
  domainName: '$context.domainName',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationErrorMessage: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
});

/**
 * An HTTP API (`HttpApi`) named `{stackName}-{nameSuffix}`, without its execute-api endpoint (it
 * would bypass the custom domain's TLS policy and mutual TLS: the domain is the one entry point)
 * and without the default stage (which cannot take access log settings: createLoggedStage makes it).
 */
export function createDomainOnlyApi(scope: Construct, nameSuffix: string, description: string): apigwv2.HttpApi {
  return new apigwv2.HttpApi(scope, 'HttpApi', {
    apiName: `${Stack.of(scope).stackName}-${nameSuffix}`,
    description,
    disableExecuteApiEndpoint: true,
    createDefaultStage: false,
  });
}

/** A Lambda integration in payload format 2.0, the event shape every setpoll handler reads. */
export function lambdaIntegration(id: string, handler: lambda.IFunction): HttpLambdaIntegration {
  return new HttpLambdaIntegration(id, handler, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
}

export interface RegionalDomainOptions {
  readonly domainName: string;
  /** ACM certificate for `domainName`, in the stack's region. */
  readonly certificateArn: string;
  /** @default - none */
  readonly ownershipCertificateArn?: string | undefined;
  /** @default - no mutual TLS */
  readonly mtls?: apigwv2.MTLSConfig | undefined;
}

/** The custom domain (`DomainName`): Regional, TLS 1.2 at the least. */
export function createRegionalDomain(scope: Construct, options: RegionalDomainOptions): apigwv2.DomainName {
  return new apigwv2.DomainName(scope, 'DomainName', {
    domainName: options.domainName,
    certificate: acm.Certificate.fromCertificateArn(scope, 'Certificate', options.certificateArn),
    ownershipCertificate: options.ownershipCertificateArn
      ? acm.Certificate.fromCertificateArn(scope, 'OwnershipCertificate', options.ownershipCertificateArn)
      : undefined,
    endpointType: apigwv2.EndpointType.REGIONAL,
    securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    mtls: options.mtls,
  });
}

export interface LoggedStageOptions {
  readonly httpApi: apigwv2.HttpApi;
  /** @default - no mapping: the API has no entry point */
  readonly domainName?: apigwv2.DomainName | undefined;
  readonly throttle: apigwv2.ThrottleSettings;
  readonly accessLogRetention: logs.RetentionDays;
  /**
   * @default RETAINED (RetainExceptOnCreate): access logs are kept, yet a failed first create
   * leaves none behind (LogGroup's own default is plain Retain)
   */
  readonly accessLogRemovalPolicy?: RemovalPolicy;
}

export interface LoggedStage {
  readonly stage: apigwv2.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
}

/** The access log group (`AccessLogs`) and the auto-deployed `$default` stage (`DefaultStage`) that writes ACCESS_LOG_FORMAT to it. */
export function createLoggedStage(scope: Construct, options: LoggedStageOptions): LoggedStage {
  const accessLogGroup = new logs.LogGroup(scope, 'AccessLogs', { retention: options.accessLogRetention, removalPolicy: options.accessLogRemovalPolicy ?? RETAINED });
  const stage = new apigwv2.HttpStage(scope, 'DefaultStage', {
    httpApi: options.httpApi,
    stageName: '$default',
    autoDeploy: true,
    domainMapping: options.domainName ? { domainName: options.domainName } : undefined,
    throttle: options.throttle,
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogGroup),
      format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
    },
  });
  return { stage, accessLogGroup };
}
