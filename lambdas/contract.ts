/**
 * The deployment contract: every fact the CDK constructs (lib/) and the Lambda code (lambdas/) must
 * agree on, declared once. The environment variable names each function reads, their defaults, the
 * limits that follow from API Gateway, the OAuth scopes and the SET signing algorithms.
 *
 * Dependency-free, so both the CDK app and the poll bundle import it at no cost.
 * test/contract/environment.test.ts synthesizes the stack and checks that each function is given
 * exactly the variables its Lambda code reads.
 */

/** The SETPOLL_* variables (and the two runtime ones the code reads), by role. */
export const ENV = Object.freeze({
  tableName: 'SETPOLL_TABLE_NAME',
  leaseSeconds: 'SETPOLL_LEASE_SECONDS',
  longPollSeconds: 'SETPOLL_LONG_POLL_SECONDS',
  maxEvents: 'SETPOLL_MAX_EVENTS',
  maxDeliveryAttempts: 'SETPOLL_MAX_DELIVERY_ATTEMPTS',
  maxResponseBytes: 'SETPOLL_MAX_RESPONSE_BYTES',
  maxRequestBytes: 'SETPOLL_MAX_REQUEST_BYTES',
  maxInFlight: 'SETPOLL_MAX_IN_FLIGHT',
  identityCacheSeconds: 'SETPOLL_IDENTITY_CACHE_SECONDS',
  /** `final` (RFC 8936, the default) or `redeliver` (the OB profile's reading of errored SETs). */
  erroredSets: 'SETPOLL_ERRORED_SETS',
  realm: 'SETPOLL_REALM',
  tokenJwksUrl: 'SETPOLL_TOKEN_JWKS_URL',
  tokenIssuer: 'SETPOLL_TOKEN_ISSUER',
  tokenAudience: 'SETPOLL_TOKEN_AUDIENCE',
  tokenScopes: 'SETPOLL_TOKEN_SCOPES',
  tokenClientClaim: 'SETPOLL_TOKEN_CLIENT_CLAIM',
  /** `true`: access tokens must be typed `at+jwt` (RFC 9068). */
  tokenRequireAtJwt: 'SETPOLL_TOKEN_REQUIRE_AT_JWT',
  /** The longest `exp - iat` of an accepted access token; 0: no limit. */
  tokenMaxLifetimeSeconds: 'SETPOLL_TOKEN_MAX_LIFETIME_SECONDS',
  issuer: 'SETPOLL_ISSUER',
  /** The poll endpoint's URL: SSF streams deliver through it; its presence turns the SSF routes on. */
  pollUrl: 'SETPOLL_POLL_URL',
  /** The public key endpoint's JWKS URL: the `jwks_uri` of the SSF metadata served there. */
  publicJwksUrl: 'SETPOLL_PUBLIC_JWKS_URL',
  signingKeyId: 'SETPOLL_SIGNING_KEY_ID',
  signingAlg: 'SETPOLL_SIGNING_ALG',
  /** Powertools reads it too; the handlers name their logger and metrics service after it. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** Per-Data-Provider limits of the Notifier (NOTIFIER_LIMIT_ENV). */
  notifierMaxDestinations: 'SETPOLL_NOTIFIER_MAX_DESTINATIONS',
  notifierNotificationsPerMinute: 'SETPOLL_NOTIFIER_NOTIFICATIONS_PER_MINUTE',
  notifierMaxClaimsBytes: 'SETPOLL_NOTIFIER_MAX_CLAIMS_BYTES',
  notifierMaxBulkItems: 'SETPOLL_NOTIFIER_MAX_BULK_ITEMS',
  notifierMaxSetsPerRequest: 'SETPOLL_NOTIFIER_MAX_SETS_PER_REQUEST',
  /** Test and benchmark hook only (a DynamoDB Local endpoint): never set in a deployment. */
  dynamoDbEndpoint: 'SETPOLL_DYNAMODB_ENDPOINT',
  /** Set by the Lambda runtime: the management function invokes itself to continue a fan-out. */
  functionName: 'AWS_LAMBDA_FUNCTION_NAME',
  /** Read by Powertools itself, not by setpoll's code. */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** Read by Node.js itself (source-mapped stack traces). */
  nodeOptions: 'NODE_OPTIONS',
});

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Variables no construct sets: the runtime provides them, or only tests and the benchmark do. */
export const ENV_NOT_SET_BY_CONSTRUCTS: readonly EnvName[] = Object.freeze([ENV.dynamoDbEndpoint, ENV.functionName]);
/** Variables every function is given for the runtime and libraries, read by none of setpoll's code. */
export const ENV_READ_BY_RUNTIME: readonly EnvName[] = Object.freeze([ENV.logLevel, ENV.nodeOptions]);

/** The numeric poll settings, keyed as in PollSettings (lambdas/core/settings.ts). */
export const NUMERIC_SETTING_ENV = Object.freeze({
  leaseSeconds: ENV.leaseSeconds,
  longPollSeconds: ENV.longPollSeconds,
  maxEvents: ENV.maxEvents,
  maxDeliveryAttempts: ENV.maxDeliveryAttempts,
  maxResponseBytes: ENV.maxResponseBytes,
  maxRequestBytes: ENV.maxRequestBytes,
  maxInFlight: ENV.maxInFlight,
  identityCacheSeconds: ENV.identityCacheSeconds,
});

export type NumericSetting = keyof typeof NUMERIC_SETTING_ENV;

/** What both functions read to check their callers and reach the table. */
const SHARED_ENV: readonly EnvName[] = [
  ENV.tableName,
  ENV.realm,
  ENV.tokenJwksUrl,
  ENV.tokenIssuer,
  ENV.tokenAudience,
  ENV.tokenRequireAtJwt,
  ENV.tokenMaxLifetimeSeconds,
  ENV.serviceName,
  ENV.dynamoDbEndpoint,
];

/** Every variable the poll function's code reads. */
export const POLL_FUNCTION_ENV: readonly EnvName[] = Object.freeze([
  ...SHARED_ENV,
  ...Object.values(NUMERIC_SETTING_ENV),
  ENV.erroredSets,
  ENV.tokenScopes,
  ENV.tokenClientClaim,
]);

/**
 * Every variable the management function's code reads. Its scopes are fixed (NOTIFIER_*_SCOPES);
 * the request size cap, the identity cache and the token's client claim keep their defaults.
 */
export const MANAGEMENT_FUNCTION_ENV: readonly EnvName[] = Object.freeze([
  ...SHARED_ENV,
  ENV.issuer,
  ENV.pollUrl,
  ENV.signingKeyId,
  ENV.signingAlg,
  ENV.functionName,
  ENV.notifierMaxDestinations,
  ENV.notifierNotificationsPerMinute,
  ENV.notifierMaxClaimsBytes,
  ENV.notifierMaxBulkItems,
  ENV.notifierMaxSetsPerRequest,
]);

/**
 * What one Data Provider may do (the Notifier's documented server policies, docs/server-policies.md):
 * destinations it may hold, notifications it may issue or replace per minute (then 429 with
 * Retry-After), bytes of JSON claims per notification, items per bulk request, and SETs one request
 * may make the deployment sign (notifications in it × the provider's destinations).
 */
export interface NotifierLimits {
  readonly maxDestinations: number;
  readonly notificationsPerMinute: number;
  readonly maxClaimsBytes: number;
  readonly maxBulkItems: number;
  readonly maxSetsPerRequest: number;
}

/** The management function's variable of each limit. */
export const NOTIFIER_LIMIT_ENV = Object.freeze({
  maxDestinations: ENV.notifierMaxDestinations,
  notificationsPerMinute: ENV.notifierNotificationsPerMinute,
  maxClaimsBytes: ENV.notifierMaxClaimsBytes,
  maxBulkItems: ENV.notifierMaxBulkItems,
  maxSetsPerRequest: ENV.notifierMaxSetsPerRequest,
} satisfies Record<keyof NotifierLimits, EnvName>);

export const NOTIFIER_LIMIT_DEFAULTS: NotifierLimits = Object.freeze({
  maxDestinations: 10_000,
  notificationsPerMinute: 600,
  maxClaimsBytes: 65_536,
  maxBulkItems: 100,
  maxSetsPerRequest: 100_000,
});

/** The bounds each limit must keep (lambdas/notifier/limits.ts checks them, and so does the CDK construct). */
export const NOTIFIER_LIMIT_BOUNDS: Readonly<Record<keyof NotifierLimits, readonly [number, number]>> = Object.freeze({
  maxDestinations: [1, 1_000_000],
  notificationsPerMinute: [1, 1_000_000],
  // A SET carries the claims plus its header and signature; 256 KiB keeps a queued SET well under DynamoDB's 400 KB item.
  maxClaimsBytes: [1024, 262_144],
  // A DynamoDB transaction holds at most 100 actions: an atomic destination bulk is one transaction.
  maxBulkItems: [1, 100],
  maxSetsPerRequest: [1, 100_000_000],
});

/**
 * Every variable the public keys function's code reads (lib/constructs/public-jwks.ts): the table's
 * published keys and the signing key's public half, nothing about callers (it serves anonymous GETs).
 */
export const PUBLIC_KEYS_FUNCTION_ENV: readonly EnvName[] = Object.freeze([
  ENV.tableName,
  ENV.signingKeyId,
  ENV.signingAlg,
  ENV.serviceName,
  ENV.dynamoDbEndpoint,
  // The SSF metadata it serves besides the JWKS.
  ENV.issuer,
  ENV.publicJwksUrl,
]);

/** Variables of the command line and the local stack (no Lambda function reads them). */
export const TOOL_ENV = Object.freeze({
  /** How long `setpoll keys rotate` and `retire` keep a replaced key published, in seconds. */
  previousKeySeconds: 'SETPOLL_PREVIOUS_KEY_SECONDS',
  /** The KMS key `setpoll publish --table` signs with when --kms-key-arn is not given. */
  kmsKeyArn: 'SETPOLL_KMS_KEY_ARN',
  /** Port of the local stack's listener without client certificates (publicJwksUrl). */
  publicJwksPort: 'SETPOLL_PUBLIC_JWKS_PORT',
});

/** The poll endpoint's path unless configured (the OB profile deploys `/open-banking/v4.0/events`). */
export const DEFAULT_POLL_PATH = '/events';

/**
 * How long a replaced signing key stays in the JWKS by default: at least the longest a SET it signed
 * can stay queued, i.e. the producers' longest SET TTL (setpoll's default TTL: 7 days).
 */
export const DEFAULT_PREVIOUS_KEY_SECONDS = 7 * 24 * 3600;
/** How long a handler reuses its read of the published keys: the JWKS endpoint is public. */
export const PUBLISHED_KEYS_CACHE_MS = 60_000;
/** Where the SET verification keys are served on the mTLS domain (the SSF metadata's default `jwks_uri`). */
export const JWKS_PATH = '/jwks.json';

/** API Gateway HTTP API's hard integration timeout. */
export const HTTP_API_INTEGRATION_TIMEOUT_SECONDS = 30;
/** Headroom between the long poll and the poll Lambda's timeout, for the final DynamoDB round trips. */
export const TIMEOUT_HEADROOM_SECONDS = 5;
/** The longest long poll whose Lambda timeout (long poll + headroom) stays under 30 s: 24. */
export const MAX_LONG_POLL_SECONDS = HTTP_API_INTEGRATION_TIMEOUT_SECONDS - TIMEOUT_HEADROOM_SECONDS - 1;
/** One second under API Gateway's limit: the management handler answers before API Gateway gives up. */
export const MANAGEMENT_TIMEOUT_SECONDS = HTTP_API_INTEGRATION_TIMEOUT_SECONDS - 1;

/**
 * What a SET reported in `setErrs` becomes. `final`: RFC 8936 §2.4.4, the report is the
 * recipient's final answer: the SET leaves the queue for an `errored` record. `redeliver`: the OB
 * Aggregated Polling profile's reading (awaiting events include those "reported as errors by the
 * TPP"; only positively acknowledged ones may be evicted): the SET stays queued with the error
 * recorded on it and is delivered again after its lease, until acknowledged or out of
 * maxDeliveryAttempts (which must then be at least 1).
 */
export const ERRORED_SETS_MODES = Object.freeze(['final', 'redeliver'] as const);
export type ErroredSetsMode = (typeof ERRORED_SETS_MODES)[number];

/** Defaults of the poll settings (the "documented polling policies"; see PollSettings). */
export const SETTING_DEFAULTS = Object.freeze({
  leaseSeconds: 30,
  longPollSeconds: 20,
  maxEvents: 100,
  maxDeliveryAttempts: 0,
  maxResponseBytes: 1_000_000,
  maxRequestBytes: 1_048_576,
  maxInFlight: 1000,
  identityCacheSeconds: 30,
  erroredSets: 'final' as ErroredSetsMode,
  realm: 'setpoll',
} satisfies Record<NumericSetting | 'erroredSets' | 'realm', number | string>);

/** The OB Aggregated Polling profile's scopes: a recipient's token needs one of them. */
export const DEFAULT_POLL_SCOPES: readonly string[] = Object.freeze(['accounts', 'fundsconfirmations', 'payments']);
/** SSF 1.0 §7 scopes: stream changes; stream reads; polling a stream (the poll endpoint also takes ssf.manage). */
export const SSF_MANAGE_SCOPE = 'ssf.manage';
export const SSF_READ_SCOPE = 'ssf.read';
export const SSF_POLL_SCOPE = 'ssf.manage.poll';
export const SSF_WRITE_SCOPES: readonly string[] = Object.freeze([SSF_MANAGE_SCOPE]);
export const SSF_READ_SCOPES: readonly string[] = Object.freeze([SSF_READ_SCOPE, SSF_MANAGE_SCOPE]);
/** What an SSF receiver's client asks its authorization server for. */
export const SSF_RECEIVER_SCOPES: readonly string[] = Object.freeze([SSF_MANAGE_SCOPE, SSF_READ_SCOPE]);
/** What the poll endpoint accepts unless configured otherwise: OB recipients and SSF receivers alike. */
export const DEFAULT_ACCEPTED_POLL_SCOPES: readonly string[] = Object.freeze([...DEFAULT_POLL_SCOPES, SSF_MANAGE_SCOPE, SSF_POLL_SCOPE]);
/** Management API: a mutation needs write; a read needs read or write. */
export const NOTIFIER_WRITE_SCOPES: readonly string[] = Object.freeze(['notifications:write']);
export const NOTIFIER_READ_SCOPES: readonly string[] = Object.freeze(['notifications:read', 'notifications:write']);
/** A recipient's own routes (/recipient/...): the providers it authorizes and the notifications addressed to it. */
export const NOTIFIER_RECIPIENT_SCOPES: readonly string[] = Object.freeze(['notifications:recipient']);
/** What a Data Provider's client asks its authorization server for. */
export const NOTIFIER_SCOPES: readonly string[] = Object.freeze(['notifications:write', 'notifications:read']);

/** The access-token claim that names the OAuth client. */
export const TOKEN_CLIENT_CLAIMS = Object.freeze(['client_id', 'azp', 'sub'] as const);
export type ClientClaim = (typeof TOKEN_CLIENT_CLAIMS)[number];
export const DEFAULT_TOKEN_CLIENT_CLAIM: ClientClaim = 'client_id';

/**
 * The signed claim naming the Data Provider of a SET the Notifier signs (outside `events`); SETs of
 * the deployment's own producers carry none. The recipient library reads it (recipient/set-verifier.ts).
 */
export const SET_PROVIDER_CLAIM = 'data_provider';

/** JWS algorithms setpoll signs SETs with; the OB profile signs with PS256. */
export const SET_ALGORITHMS = Object.freeze(['PS256', 'RS256', 'ES256'] as const);
export type SetAlgorithm = (typeof SET_ALGORITHMS)[number];
export const DEFAULT_SET_ALGORITHM: SetAlgorithm = 'PS256';

/** `service` of the poll function's logs and metrics (its POWERTOOLS_SERVICE_NAME). */
export const POLL_SERVICE = 'setpoll';
/** `service` of the management function's logs and metrics. */
export const MANAGEMENT_SERVICE = 'setpoll-management';
/** `service` of the public keys function's logs. */
export const PUBLIC_KEYS_SERVICE = 'setpoll-public-keys';
