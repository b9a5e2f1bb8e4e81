/**
 * What the local stack takes and gives (its options, its handle) and the routes it serves: the shape
 * that `npm start`, the CLI and the tests rely on, apart from how local/stack.ts builds it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JWK } from 'jose';
import type { PollSettings } from '../lambdas/core/settings.ts';
import type { PublishedKeys } from '../lambdas/keys/published-keys.ts';
import type { StreamQueueStore } from '../lambdas/ssf/stream-queue-store.ts';
import type { StreamService } from '../lambdas/ssf/stream-service.ts';
import { SSF_PREFIX, WELL_KNOWN_SSF } from '../lambdas/ssf/vocabulary.ts';
import type { DestinationService } from '../lambdas/notifier/destinations.ts';
import type { NotificationService } from '../lambdas/notifier/notifications.ts';
import type { AuthorizationService } from '../lambdas/notifier/authorizations.ts';
import type { RecipientReview } from '../lambdas/notifier/recipient-review.ts';
import type { NotifierLimits } from '../lambdas/notifier/limits.ts';
import type { Publisher } from '../lambdas/producer/publish.ts';
import type { SetAlgorithm } from '../lambdas/producer/signer.ts';
import type { DynamoQueueStore } from '../lambdas/store/dynamo-queue-store.ts';
import type { RecipientRegistry } from '../lambdas/store/recipient-registry.ts';
import type { LocalConfig } from './config.ts';
import type { DynamoLocal } from './dynamodb.ts';
import type { HttpsServerOptions, RouteTable, RunningHttpsServer } from './https-server.ts';
import type { DevPki } from './pki.ts';

export interface LocalStackOptions {
  /** State folder: PKI, signing key, DynamoDB Local data, local.json. @default '.setpoll' */
  readonly dir?: string;
  /** HTTPS port; 0 or undefined picks a free one. */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Use this DynamoDB Local instead of starting one (which would persist under `<dir>/dynamodb`). */
  readonly dynamoEndpoint?: string;
  /** Port of the DynamoDB Local this stack starts. @default a free port */
  readonly dynamoPort?: number;
  /** @default 'setpoll-local' */
  readonly tableName?: string;
  /** @default settingsFromEnv(process.env) */
  readonly settings?: PollSettings;
  /** @default a Powertools Logger with serviceName 'setpoll' */
  readonly logger?: Logger;
  /**
   * The path local.json's pollUrl names. The poll handler is served there, and always at `/events`
   * and the OB profile's `/open-banking/v4.0/events` too, so receivers of either kind work unchanged.
   * @default '/events'
   */
  readonly pollPath?: string;
  /** Recipients whose client certificates the PKI holds and the registry knows. @default tpp-alpha, tpp-beta */
  readonly clientIds?: readonly string[];
  /**
   * Data Providers: registered like recipients, but the local authorization server grants them
   * the notifier scopes (notifications:write notifications:read) instead of the polling ones.
   * @default provider-demo
   */
  readonly providerIds?: readonly string[];
  /** Fan-out tuning of the NotificationService (see NotificationServiceOptions). @default its defaults */
  readonly notifier?: { readonly fanOutPageSize?: number; readonly fanOutBudgetMs?: number; readonly limits?: Partial<NotifierLimits> };
  /** More routes (e.g. a token endpoint), merged over the built-in ones. */
  readonly routes?: RouteTable;
  /** Called once per request served (an access log; see AccessLogEntry). @default none */
  readonly onRequestDone?: HttpsServerOptions['onRequestDone'];
  /**
   * The SET signing algorithm (SETPOLL_SIGNING_ALG, as the deployment's `signingAlg`): RS256 for
   * receivers that require it (CAEP interoperability). An RSA key switches between PS256 and RS256.
   * @default 'PS256'
   */
  readonly signingAlg?: SetAlgorithm;
  /** Port of the public JWKS listener (no client certificate). @default a free port */
  readonly publicJwksPort?: number;
  /** Passed to the HTTPS server. @default 30 000 */
  readonly integrationTimeoutMs?: number;
}

export interface LocalStack {
  /** What was written to local.json. */
  readonly config: LocalConfig;
  readonly configFile: string;
  /** Absolute state folder. */
  readonly dir: string;
  readonly pki: DevPki;
  readonly server: RunningHttpsServer;
  /** The DynamoDB Local this stack started; undefined when it was given an endpoint. */
  readonly dynamo: DynamoLocal | undefined;
  readonly settings: PollSettings;
  readonly logger: Logger;
  /** Publishes SETs signed with the local key into the local table. */
  readonly publisher: Publisher;
  readonly registry: RecipientRegistry;
  /** The queues without the SSF stream filter (what the poll reads). */
  readonly store: DynamoQueueStore;
  /** The stream-aware queue every producer path (the publisher, the Notifier) enqueues through. */
  readonly streamQueue: StreamQueueStore;
  /** Receivers' SSF streams (also the operators' way in: changeStatus with announce). */
  readonly streams: StreamService;
  /** The Notifier services behind the management API, on the same table and client. */
  readonly destinations: DestinationService;
  readonly notifications: NotificationService;
  readonly authorizations: AuthorizationService;
  readonly review: RecipientReview;
  readonly documentClient: DynamoDBDocumentClient;
  readonly signingKeyFile: string;
  /** The current public SET verification key (the first of the JWKS). */
  readonly publicJwk: JWK;
  /** The JWKS as served at /jwks.json and at publicJwksUrl: the current key and the published ones. */
  readonly publishedKeys: PublishedKeys;
  /** The second listener: GET /jwks.json without a client certificate, nothing else. */
  readonly publicServer: RunningHttpsServer;
  /** Closes the server, and stops DynamoDB Local if this stack started it. Safe to call twice. */
  stop(): Promise<void>;
}

export const DEFAULT_TABLE_NAME = 'setpoll-local';
/** The OB Aggregated Polling profile's path of the poll endpoint (served locally beside `/events`). */
export const OB_POLL_PATH = '/open-banking/v4.0/events';
export const TOKEN_PATH = '/oauth/token';
export const TOKEN_JWKS_PATH = '/oauth/jwks.json';
/** The management API's top-level collections; each is served as `ANY /x` and `ANY /x/{proxy+}`. */
export const MANAGEMENT_COLLECTIONS = ['/destinations', '/notifications'] as const;
/** A recipient's own management routes (`/recipient/authorizations...`), served as `ANY /recipient/{proxy+}`. */
export const RECIPIENT_ROUTE = 'ANY /recipient/{proxy+}';
/** The SSF routes, served by the management handler as in AWS. */
export const SSF_ROUTES = [`ANY ${WELL_KNOWN_SSF}`, `ANY ${SSF_PREFIX}/{proxy+}`] as const;
