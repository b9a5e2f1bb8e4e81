import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, JWKS_PATH, PUBLIC_KEYS_SERVICE } from '../../lambdas/contract.ts';
import { discoveryPath } from '../../lambdas/ssf/vocabulary.ts';
import { KEYS_PK } from '../../lambdas/store/schema.ts';
import { createDomainOnlyApi, createLoggedStage, createRegionalDomain, lambdaIntegration } from './custom-domain-api.ts';
import { createSetpollFunction } from './function-defaults.ts';
import { acknowledgeNag } from './nag.ts';
import type { SetQueueTable } from './set-queue-table.ts';
import type { SigningKey } from './signing-key.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The public keys handler source: it serves GET /jwks.json (and the SSF metadata) and nothing else. */
export const PUBLIC_KEYS_HANDLER_ENTRY = path.join(HERE, '../../lambdas/handlers/public-keys.ts');

/** The partition of the published keys: all the function may read. */
export const PUBLISHED_KEYS_PARTITION = KEYS_PK;

export interface PublicJwksProps {
  readonly queue: SetQueueTable;
  /** The current signing key: the function reads its public half (kms:GetPublicKey only). */
  readonly signingKey: SigningKey;
  /** Host name of the public key domain, e.g. `keys.events.bank.example`. No mTLS on it. */
  readonly domainName: string;
  /** ACM certificate for `domainName`, in the stack's region. */
  readonly certificateArn: string;
  /**
   * Create the custom domain (false: the API exists but is unreachable, its execute-api endpoint
   * being disabled).
   * @default true
   */
  readonly createDomain?: boolean;
  /**
   * The SETs' `iss`: with it, the SSF transmitter metadata is served here too, at the issuer's
   * discovery path (`GET /.well-known/ssf-configuration` for an issuer without a path), with this
   * endpoint's JWKS as `jwks_uri`. No stream management route is ever on this API.
   * @default - the JWKS only
   */
  readonly issuer?: string;
  /** @default 50 */
  readonly throttleBurstLimit?: number;
  /** @default 20 */
  readonly throttleRateLimit?: number;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly accessLogRetention?: logs.RetentionDays;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The JWKS without mutual TLS, for receivers that fetch keys without a client certificate: a
 * separate HTTP API (so no poll, management or stream route exists on it at all) with the route
 * `GET /jwks.json` (and, with `issuer`, the SSF metadata's), behind its own Regional custom domain, to a function that can read the
 * published keys and the signing key's public half and nothing else. The mTLS domain is unchanged.
 */
export class PublicJwks extends Construct {
  public readonly function: NodejsFunction;
  public readonly httpApi: apigwv2.HttpApi;
  public readonly route: apigwv2.HttpRoute;
  /** `GET` the SSF metadata, when `issuer` is given. */
  public readonly discoveryRoute?: apigwv2.HttpRoute;
  public readonly stage: apigwv2.HttpStage;
  public readonly domainName?: apigwv2.DomainName;
  public readonly accessLogGroup: logs.LogGroup;
  /** `https://{domainName}/jwks.json`. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: PublicJwksProps) {
    super(scope, id);
    this.url = `https://${props.domainName}${JWKS_PATH}`;

    const { function: fn, role } = createSetpollFunction(this, {
      description: 'setpoll public keys handler',
      entry: PUBLIC_KEYS_HANDLER_ENTRY,
      memorySize: 256,
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      // With the table name and COMMON_FUNCTION_ENVIRONMENT, exactly PUBLIC_KEYS_FUNCTION_ENV (test/contract/environment.test.ts).
      table: props.queue.table,
      environment: {
        [ENV.signingKeyId]: props.signingKey.key.keyArn,
        [ENV.signingAlg]: props.signingKey.algorithm,
        [ENV.serviceName]: PUBLIC_KEYS_SERVICE,
        ...(props.issuer ? { [ENV.issuer]: props.issuer, [ENV.publicJwksUrl]: this.url } : {}),
      },
    });
    this.function = fn;
    // Reads one partition: a Query of `KEYS`, nothing else in the table (the LeadingKeys condition).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [props.queue.table.tableArn],
        conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [PUBLISHED_KEYS_PARTITION] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
      }),
    );
    props.signingKey.key.grant(role, 'kms:GetPublicKey');
    props.queue.encryptionKey?.grant(role, 'kms:Decrypt', 'kms:DescribeKey');

    this.httpApi = createDomainOnlyApi(this, 'public-keys', 'setpoll SET verification keys (JWKS), without mutual TLS');
    const integration = lambdaIntegration('PublicKeysIntegration', this.function);
    [this.route] = this.httpApi.addRoutes({ path: JWKS_PATH, methods: [apigwv2.HttpMethod.GET], integration }) as [apigwv2.HttpRoute];
    acknowledgeNag(
      this.route,
      'AwsSolutions-APIG4',
      'The JWKS is public by design (RFC 7517 key sets are fetched anonymously by receivers): the route serves public key material only, from a function that can read nothing else.',
    );
    if (props.issuer) {
      [this.discoveryRoute] = this.httpApi.addRoutes({ path: discoveryPath(props.issuer), methods: [apigwv2.HttpMethod.GET], integration }) as [apigwv2.HttpRoute];
      acknowledgeNag(
        this.discoveryRoute,
        'AwsSolutions-APIG4',
        'The SSF transmitter metadata should be readable without prior authentication (SSF 1.0 §6): a static document naming public endpoints, from a function that can read nothing else.',
      );
    }

    if (props.createDomain ?? true) {
      this.domainName = createRegionalDomain(this, { domainName: props.domainName, certificateArn: props.certificateArn });
    }

    ({ stage: this.stage, accessLogGroup: this.accessLogGroup } = createLoggedStage(this, {
      httpApi: this.httpApi,
      domainName: this.domainName,
      // Anonymous callers: a low limit caps what a flood can cost (recipients cache the JWKS).
      throttle: { burstLimit: props.throttleBurstLimit ?? 50, rateLimit: props.throttleRateLimit ?? 20 },
      accessLogRetention: props.accessLogRetention ?? logs.RetentionDays.ONE_YEAR,
    }));
  }
}
