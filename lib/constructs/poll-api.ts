import { Annotations, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { createDomainOnlyApi, createLoggedStage, createRegionalDomain, lambdaIntegration } from './custom-domain-api.ts';
import { acknowledgeNag } from './nag.ts';
import { ConfigError } from './validation.ts';
import { DEFAULT_POLL_PATH, JWKS_PATH } from '../../lambdas/contract.ts';
import { DEFAULT_TRUSTSTORE_KEY, createTruststoreBucket, parseTruststoreUri } from './truststore.ts';

/** Default poll path (the contract's); the OB profile deploys it as `/open-banking/v4.0/events`. */
export { DEFAULT_POLL_PATH };

/**
 * The management API's routes on the same HTTP API and custom domain (payload 2.0), all to the
 * management Lambda. `{proxy+}` hands the handler every sub-path (`/destinations/{clientId}`,
 * `/notifications/{id}/status`, ...): it routes and answers 404/405 itself, as the poll handler does.
 */
export const MANAGEMENT_ROUTES: readonly { readonly method: apigwv2.HttpMethod; readonly path: string }[] = Object.freeze([
  { method: apigwv2.HttpMethod.ANY, path: '/destinations' },
  { method: apigwv2.HttpMethod.ANY, path: '/destinations/{proxy+}' },
  { method: apigwv2.HttpMethod.ANY, path: '/notifications' },
  { method: apigwv2.HttpMethod.ANY, path: '/notifications/{proxy+}' },
  { method: apigwv2.HttpMethod.ANY, path: '/recipient/{proxy+}' },
  { method: apigwv2.HttpMethod.GET, path: JWKS_PATH },
  // SSF 1.0: transmitter metadata (no token) and the receivers' stream management.
  { method: apigwv2.HttpMethod.GET, path: '/.well-known/ssf-configuration' },
  { method: apigwv2.HttpMethod.ANY, path: '/ssf/{proxy+}' },
]);

/**
 * Why the routes have no API Gateway authorizer (AwsSolutions-APIG4). The same for the poll and
 * the management routes: both handlers check a certificate-bound token on every request.
 */
export const ROUTE_AUTHORIZATION_REASON =
  'Authentication is mutual TLS at the custom domain (the only entry point: the execute-api ' +
  'endpoint is disabled) against the operator truststore, and the handler authorizes every ' +
  'request with an OAuth 2.0 access token (JWKS signature, issuer, audience, scope) bound to ' +
  'the client certificate. An API Gateway JWT authorizer cannot check that binding.';

/** Literal path segments only: no `{param}`, `{proxy+}`, empty segment or trailing slash. */
const POLL_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

export interface PollApiProps {
  /** The poll Lambda (payload format 2.0). */
  readonly handler: lambda.IFunction;
  /**
   * The management Lambda (payload format 2.0), served on MANAGEMENT_ROUTES.
   * @default - no management routes
   */
  readonly managementHandler?: lambda.IFunction;
  /** Public host name of the custom domain, e.g. `events.example.com`. */
  readonly domainName: string;
  /** ACM certificate for `domainName`, in the stack's region. */
  readonly certificateArn: string;
  /**
   * A public ACM certificate proving ownership of the domain. API Gateway requires it with mTLS
   * when `certificateArn` is an imported or private CA certificate.
   * @default - none (the certificate is ACM-issued and public)
   */
  readonly ownershipCertificateArn?: string;
  /**
   * Path of the poll endpoint: literal segments, leading slash, no trailing slash.
   * @default '/events'
   */
  readonly pollPath?: string;
  /**
   * S3 key of the truststore in `truststoreBucket`.
   * @default 'truststore.pem'
   */
  readonly truststoreKey?: string;
  /**
   * S3 version of the truststore object in the stack's truststore bucket (or of the object at
   * `truststoreUri`). Giving it says the object exists: the mTLS domain is created. Pinning it is
   * also how a rotation is deployed: API Gateway re-reads the truststore only when the domain's
   * mTLS settings change.
   * @default - no version: without `truststoreUri` there is no truststore yet, and no domain
   */
  readonly truststoreVersion?: string;
  /**
   * An existing truststore, `s3://bucket/key`, e.g. one shared by several deployments. The stack
   * then creates no truststore bucket, and creates the domain straight away.
   * @default - the stack's own truststore bucket
   */
  readonly truststoreUri?: string;
  /**
   * Create the mTLS custom domain. API Gateway refuses to create it while the truststore object is
   * missing, and a failed create rolls the whole stack back; so it is created only once a
   * truststore exists (`truststoreVersion` or `truststoreUri`). `false` leaves it out even then.
   * @default - true when a truststore exists, false before
   */
  readonly createDomain?: boolean;
  /**
   * Stage burst limit (requests).
   * @default 200
   */
  readonly throttleBurstLimit?: number;
  /**
   * Stage steady-state rate limit (requests per second).
   * @default 100
   */
  readonly throttleRateLimit?: number;
  /**
   * Retention of the API access logs.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Days before S3 server access logs of the truststore bucket expire.
   * @default 365
   */
  readonly bucketAccessLogExpirationDays?: number;
}

/**
 * The public face of the poll endpoint (and, with a management handler, of the notifier
 * management API and /jwks.json): an HTTP API reachable only through a Regional custom domain
 * that enforces TLS 1.2 and mutual TLS against the truststore in `truststoreBucket`.
 */
export class PollApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  /** The custom domain; undefined before a truststore exists (or with `createDomain: false`). */
  public readonly domainName?: apigwv2.DomainName;
  /** The bucket holding the truststore: the stack's own, or the one `truststoreUri` names. */
  public readonly truststoreBucket: s3.IBucket;
  /** Receives the S3 server access logs of the stack's truststore bucket; none with `truststoreUri`. */
  public readonly accessLogBucket?: s3.Bucket;
  public readonly accessLogGroup: logs.LogGroup;
  /** `POST {pollPath}`: the RFC 8936 poll. */
  public readonly pollRoute: apigwv2.HttpRoute;
  /** `ANY {pollPath}`: every other method, answered 405 by the handler. */
  public readonly otherMethodsRoute: apigwv2.HttpRoute;
  /** The MANAGEMENT_ROUTES, in that order; empty without a management handler. */
  public readonly managementRoutes: apigwv2.HttpRoute[];
  public readonly pollPath: string;
  public readonly truststoreKey: string;
  /** `s3://bucket/key` of the truststore. */
  public readonly truststoreUri: string;
  /** `https://{domainName}{pollPath}`. */
  public readonly pollUrl: string;
  /** `https://{domainName}`: the base URL of the management API. */
  public readonly managementUrl: string;
  /** `https://{domainName}/jwks.json`: the SET verification keys. */
  public readonly jwksUrl: string;

  constructor(scope: Construct, id: string, props: PollApiProps) {
    super(scope, id);

    this.pollPath = props.pollPath ?? DEFAULT_POLL_PATH;
    const existing = props.truststoreUri === undefined ? undefined : parseTruststoreUri(props.truststoreUri);
    if (existing && props.truststoreKey !== undefined) {
      throw new ConfigError('truststoreKey and truststoreUri exclude each other: truststoreUri names the key of an existing truststore');
    }
    this.truststoreKey = existing?.key ?? props.truststoreKey ?? DEFAULT_TRUSTSTORE_KEY;
    validateProps(props, this.pollPath, this.truststoreKey);
    const truststoreExists = existing !== undefined || props.truststoreVersion !== undefined;
    if (props.createDomain === true && !truststoreExists) {
      throw new ConfigError(
        'createDomain=true needs a truststore: API Gateway refuses to create an mTLS domain without one; ' +
          'upload it and set truststoreVersion (or an existing truststoreUri)',
      );
    }
    const createDomain = props.createDomain ?? truststoreExists;

    // --- Truststore -------------------------------------------------------------------------
    if (existing) {
      this.truststoreBucket = s3.Bucket.fromBucketName(this, 'TruststoreBucket', existing.bucket);
    } else {
      ({ truststoreBucket: this.truststoreBucket, accessLogBucket: this.accessLogBucket } = createTruststoreBucket(this, props.bucketAccessLogExpirationDays));
    }
    this.truststoreUri = `s3://${this.truststoreBucket.bucketName}/${this.truststoreKey}`;

    // --- API --------------------------------------------------------------------------------
    this.httpApi = createDomainOnlyApi(this, 'poll', 'setpoll RFC 8936 poll endpoint and notifier management API');

    const integration = lambdaIntegration('PollIntegration', props.handler);
    [this.pollRoute] = this.httpApi.addRoutes({
      path: this.pollPath,
      methods: [apigwv2.HttpMethod.POST],
      integration,
    }) as [apigwv2.HttpRoute];
    // Other methods on the poll path go to the same handler, which answers 405 with an
    // `Allow: POST` header and a JSON error body; without this route API Gateway answers a
    // bare 404, which tells a client its URL is wrong when only its method is. The more
    // specific POST route wins over ANY. Unknown paths still get API Gateway's 404 without
    // invoking the Lambda.
    [this.otherMethodsRoute] = this.httpApi.addRoutes({
      path: this.pollPath,
      methods: [apigwv2.HttpMethod.ANY],
      integration,
    }) as [apigwv2.HttpRoute];
    // The management routes send nothing to the poll Lambda: the poll path stays small and fast.
    const managementIntegration = props.managementHandler ? lambdaIntegration('ManagementIntegration', props.managementHandler) : undefined;
    this.managementRoutes = managementIntegration
      ? MANAGEMENT_ROUTES.map(
          ({ method, path }) => this.httpApi.addRoutes({ path, methods: [method], integration: managementIntegration })[0] as apigwv2.HttpRoute,
        )
      : [];
    for (const route of [this.pollRoute, this.otherMethodsRoute, ...this.managementRoutes]) {
      acknowledgeNag(route, 'AwsSolutions-APIG4', ROUTE_AUTHORIZATION_REASON);
    }

    if (createDomain) {
      this.domainName = createRegionalDomain(this, {
        domainName: props.domainName,
        certificateArn: props.certificateArn,
        ownershipCertificateArn: props.ownershipCertificateArn,
        mtls: {
          bucket: this.truststoreBucket,
          key: this.truststoreKey,
          version: props.truststoreVersion,
        },
      });
    }

    if (!this.domainName) {
      Annotations.of(this).addWarningV2(
        'setpoll:noMtlsDomain',
        truststoreExists
          ? 'No mTLS custom domain (createDomain=false): the API has no public entry point.'
          : 'No mTLS custom domain yet: API Gateway cannot create one before the truststore exists. Deploy this, upload the client CA ' +
              `bundle to the TruststoreBucketName output as ${this.truststoreKey}, then deploy again with -c truststoreVersion=<VersionId> (docs/deploy.md).`,
      );
    }

    ({ stage: this.stage, accessLogGroup: this.accessLogGroup } = createLoggedStage(this, {
      httpApi: this.httpApi,
      domainName: this.domainName,
      throttle: {
        burstLimit: props.throttleBurstLimit ?? 200,
        rateLimit: props.throttleRateLimit ?? 100,
      },
      accessLogRetention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
    }));

    this.pollUrl = `https://${props.domainName}${this.pollPath}`;
    this.managementUrl = `https://${props.domainName}`;
    this.jwksUrl = `${this.managementUrl}${JWKS_PATH}`;
  }
}

function validateProps(props: PollApiProps, pollPath: string, truststoreKey: string): void {
  if (!Token.isUnresolved(pollPath) && !POLL_PATH.test(pollPath)) {
    throw new ConfigError(
      `pollPath must start with '/' and contain only literal segments of [A-Za-z0-9._~-], ` +
        `without a trailing slash, e.g. '/events' or '/open-banking/v4.0/events' (got ${JSON.stringify(pollPath)})`,
    );
  }
  // A poll path under a management route would send polls to the management Lambda (or the reverse).
  if (props.managementHandler && !Token.isUnresolved(pollPath)) {
    const taken = MANAGEMENT_ROUTES.map((r) => r.path.replace('/{proxy+}', ''));
    if (taken.some((p) => pollPath === p || pollPath.startsWith(`${p}/`))) {
      throw new ConfigError(`pollPath must not be ${[...new Set(taken)].join(', ')} or below them: the management API serves those (got ${JSON.stringify(pollPath)})`);
    }
  }
  if (!Token.isUnresolved(props.domainName) && !HOST_NAME.test(props.domainName)) {
    throw new ConfigError(`domainName must be a lower-case DNS host name (got ${JSON.stringify(props.domainName)})`);
  }
  for (const [name, arn] of [
    ['certificateArn', props.certificateArn],
    ['ownershipCertificateArn', props.ownershipCertificateArn],
  ] as const) {
    if (arn !== undefined && !Token.isUnresolved(arn) && !ACM_ARN.test(arn)) {
      throw new ConfigError(`${name} must be an ACM certificate ARN (got ${JSON.stringify(arn)})`);
    }
  }
  if (!Token.isUnresolved(truststoreKey) && (truststoreKey === '' || truststoreKey.startsWith('/'))) {
    throw new ConfigError(`truststoreKey must be a relative S3 key (got ${JSON.stringify(truststoreKey)})`);
  }
  for (const [name, value] of [
    ['throttleBurstLimit', props.throttleBurstLimit],
    ['throttleRateLimit', props.throttleRateLimit],
  ] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new ConfigError(`${name} must be a non-negative number (got ${value})`);
    }
  }
}
