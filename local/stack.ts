/**
 * The whole local stack in one call, for `npm start` and for tests: DynamoDB Local, the table,
 * the dev PKI with the demo recipients and Data Providers registered, the SET signing key, and the
 * HTTPS server in front of the same poll and management handlers that run in Lambda.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { createRemoteJWKSet, customFetch } from 'jose';
import { composeServices } from '../lambdas/composition.ts';
import { composeManagement } from '../lambdas/composition-management.ts';
import { DEFAULT_ACCEPTED_POLL_SCOPES, DEFAULT_POLL_PATH, JWKS_PATH, DEFAULT_POLL_SCOPES, DEFAULT_SET_ALGORITHM, NOTIFIER_RECIPIENT_SCOPES, NOTIFIER_SCOPES, SSF_POLL_SCOPE, SSF_RECEIVER_SCOPES } from '../lambdas/contract.ts';
import { AccessTokenVerifier } from '../lambdas/core/access-token.ts';
import { certificateFactsOfPem } from '../lambdas/core/certificate.ts';
import { settingsFromEnv } from '../lambdas/core/settings.ts';
import { createManagementHandler, type FanOutContinuationEvent, type ManagementHandler } from '../lambdas/handlers/management.ts';
import { createPollHandler } from '../lambdas/handlers/poll.ts';
import { createPublicKeysHandler, type PublicKeysHandler } from '../lambdas/handlers/public-keys.ts';
import { PublishedKeys } from '../lambdas/keys/published-keys.ts';
import { createSsfServices } from '../lambdas/ssf/services.ts';
import type { FanOutScheduler } from '../lambdas/notifier/notifications.ts';
import { createNotifierServices } from '../lambdas/notifier/services.ts';
import { Publisher } from '../lambdas/producer/publish.ts';
import { JwkSigner, loadOrCreateSigningJwk, loadSigningJwkFor, publicJwk } from '../lambdas/producer/signer.ts';
import { DynamoKeySetStore } from '../lambdas/store/dynamo-key-set-store.ts';
import { createAuthorizationServer } from './authorization-server.ts';
import { DEFAULT_TABLE_NAME, MANAGEMENT_COLLECTIONS, OB_POLL_PATH, RECIPIENT_ROUTE, SSF_ROUTES, TOKEN_JWKS_PATH, TOKEN_PATH, type LocalStack, type LocalStackOptions } from './stack-shape.ts';
import { AS_KEY_FILE_NAME, DEFAULT_STATE_DIR, SIGNING_KEY_FILE_NAME, configFileIn, writeLocalConfig, type LocalConfig } from './config.ts';
import { createDocumentClient, createDynamoClient, ensureTable, startDynamoLocal, type DynamoLocal } from './dynamodb.ts';
import { lambdaContext, startHttpsServer, type LambdaHandler } from './https-server.ts';
import { fetchTrustingCa } from './fetch-with-ca.ts';
import { DEMO_CLIENT_IDS, DEMO_PROVIDER_IDS, issueClientCertificate, loadOrCreateDevPki } from './pki.ts';

export type { LocalStack, LocalStackOptions } from './stack-shape.ts';
export { DEFAULT_TABLE_NAME, MANAGEMENT_COLLECTIONS, OB_POLL_PATH, RECIPIENT_ROUTE, SSF_ROUTES, TOKEN_JWKS_PATH, TOKEN_PATH } from './stack-shape.ts';
export { DEFAULT_POLL_PATH, JWKS_PATH };

/** Lifetime of the local authorization server's tokens, and the longest the local resource server accepts. */
const LOCAL_TOKEN_LIFETIME_SECONDS = 300;
/** Retries of a failed fan-out continuation, like Lambda's retries of an async invocation. */
const CONTINUATION_RETRIES = 2;
/** The identity the poll handler presents when it fetches the authorization server's keys. */
const RESOURCE_SERVER_CLIENT = 'setpoll-resource-server';

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dir = resolve(options.dir ?? DEFAULT_STATE_DIR);
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const pollPath = options.pollPath ?? DEFAULT_POLL_PATH;
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(pollPath)) throw new TypeError(`pollPath must be an absolute path, got ${JSON.stringify(pollPath)}`);
  const settings = options.settings ?? settingsFromEnv(process.env);
  const logger = options.logger ?? new Logger({ serviceName: 'setpoll' });
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanUp = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        logger.warn('Local stack cleanup step failed', { error });
      }
    }
  };

  try {
    let dynamo: DynamoLocal | undefined;
    let endpoint = options.dynamoEndpoint;
    if (!endpoint) {
      const dbPath = join(dir, 'dynamodb');
      await mkdir(dbPath, { recursive: true });
      dynamo = await startDynamoLocal({ dbPath, ...(options.dynamoPort ? { port: options.dynamoPort } : {}) });
      cleanups.push(() => dynamo?.stop());
      endpoint = dynamo.endpoint;
    }

    const admin = createDynamoClient(endpoint);
    try {
      await ensureTable(admin, tableName);
    } finally {
      admin.destroy();
    }
    const documentClient = createDocumentClient(endpoint);
    cleanups.push(() => documentClient.destroy());

    const recipientIds = options.clientIds ?? DEMO_CLIENT_IDS;
    const providerIds = options.providerIds ?? DEMO_PROVIDER_IDS;
    const pki = await loadOrCreateDevPki(join(dir, 'pki'), { clientIds: [...new Set([...recipientIds, ...providerIds])] });

    const signingKeyFile = join(dir, SIGNING_KEY_FILE_NAME);
    const jwk = await loadSigningJwkFor(signingKeyFile, options.signingAlg ?? DEFAULT_SET_ALGORITHM);
    const signer = await JwkSigner.fromJwk(jwk);
    const verificationJwk = publicJwk(jwk);
    // Read on every request (no cache): a key published with `setpoll keys` shows up at once.
    const publishedKeys = new PublishedKeys({
      store: new DynamoKeySetStore({ client: documentClient, tableName }),
      current: async () => [verificationJwk],
      cacheMs: 0,
    });

    const asKey = await loadOrCreateSigningJwk(join(dir, AS_KEY_FILE_NAME), 'ES256');
    // The handlers and the token endpoint need the server's origin, known once it listens.
    let poll: LambdaHandler = async () => ({ statusCode: 503 });
    let token: LambdaHandler = poll;
    let tokenKeys: LambdaHandler = poll;
    let management: ManagementHandler = async () => ({ statusCode: 503 });
    const manage: LambdaHandler = (event, context) => management(event, context);
    const managementRoutes: Record<string, LambdaHandler> = {};
    for (const collection of MANAGEMENT_COLLECTIONS) {
      managementRoutes[`ANY ${collection}`] = manage;
      managementRoutes[`ANY ${collection}/{proxy+}`] = manage;
    }
    managementRoutes[RECIPIENT_ROUTE] = manage;
    for (const route of SSF_ROUTES) managementRoutes[route] = manage;

    // As deployed: POST is the poll route, ANY on the same path lets the handler answer 405.
    const pollRoutes: Record<string, LambdaHandler> = {};
    for (const path of new Set([pollPath, DEFAULT_POLL_PATH, OB_POLL_PATH])) {
      pollRoutes[`POST ${path}`] = (event, context) => poll(event, context);
      pollRoutes[`ANY ${path}`] = (event, context) => poll(event, context);
    }

    const server = await startHttpsServer({
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.caCertPem },
      routes: {
        ...pollRoutes,
        // The management handler is the one source of the SET verification keys (as in AWS).
        [`GET ${JWKS_PATH}`]: manage,
        [`ANY ${JWKS_PATH}`]: manage,
        ...managementRoutes,
        [`ANY ${TOKEN_PATH}`]: (event, context) => token(event, context),
        [`GET ${TOKEN_JWKS_PATH}`]: (event, context) => tokenKeys(event, context),
        ...options.routes,
      },
      logger,
      ...(options.onRequestDone ? { onRequestDone: options.onRequestDone } : {}),
      ...(options.integrationTimeoutMs ? { integrationTimeoutMs: options.integrationTimeoutMs } : {}),
    });
    cleanups.push(() => server.close());
    // The stand-in for the optional public custom domain (no mTLS): the same CA-issued server
    // certificate, no client certificate asked for, and a handler that serves only the keys and
    // the SSF metadata (whose jwks_uri is this listener's, so it needs the port first).
    let publicKeys: PublicKeysHandler | undefined;
    const publicServer = await startHttpsServer({
      port: options.publicJwksPort ?? 0,
      host: options.host ?? '127.0.0.1',
      tls: { certPem: pki.server.certPem, keyPem: pki.server.keyPem, caPem: pki.caCertPem },
      clientCertificates: 'none',
      routes: { $default: (event, context) => publicKeys!(event, context) },
      logger,
    });
    cleanups.push(() => publicServer.close());
    publicKeys = createPublicKeysHandler({
      publicKeys: () => publishedKeys.keys(),
      logger,
      ssfMetadata: { issuer: server.origin, jwksUri: `${publicServer.origin}${JWKS_PATH}` },
    });

    const issuer = server.origin;
    const tokenIssuer = `${server.origin}/oauth`;
    const fetchIdentity = await issueClientCertificate(pki.ca, RESOURCE_SERVER_CLIENT);
    const tokens = new AccessTokenVerifier({
      keys: createRemoteJWKSet(new URL(`${server.origin}${TOKEN_JWKS_PATH}`), {
        [customFetch]: fetchTrustingCa(pki.caCertPem, { cert: fetchIdentity.certPem, key: fetchIdentity.keyPem }),
      }),
      issuer: tokenIssuer,
      audience: server.origin,
      // The poll endpoint serves OB recipients and SSF receivers' streams alike.
      scopes: DEFAULT_ACCEPTED_POLL_SCOPES,
      realm: settings.realm,
      // The local authorization server issues RFC 9068 tokens for 300 s: accept none untyped or lasting over 600 s.
      requireAtJwt: true,
      maxLifetimeSeconds: 2 * LOCAL_TOKEN_LIFETIME_SECONDS,
    });

    // The FanOutScheduler of the local stack: the continuation event Lambda would receive from an
    // async self-invocation, handed to the same handler on a later turn of the event loop.
    const continuations = new Set<Promise<void>>();
    let draining = false;
    const continueLater = async (event: FanOutContinuationEvent): Promise<void> => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let attempt = 0; !draining; attempt++) {
        try {
          await management(event, lambdaContext({ functionName: 'setpoll-local-management', timeoutMs: 60_000 }));
          return;
        } catch (error) {
          if (attempt >= CONTINUATION_RETRIES) {
            logger.error('Fan-out continuation failed after retries', { error });
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
        }
      }
    };
    const scheduler: FanOutScheduler = {
      schedule: async (providerId, notificationId) => {
        if (draining) return;
        const run = continueLater({ setpollFanOut: { providerId, notificationId } }).finally(() => continuations.delete(run));
        continuations.add(run);
      },
    };
    cleanups.push(async () => {
      draining = true;
      while (continuations.size > 0) await Promise.allSettled([...continuations]);
    });

    const pollUrl = `${server.origin}${pollPath}`;
    const services = composeServices({
      client: documentClient,
      tableName,
      settings,
      tokens,
      ssf: { create: createSsfServices, signer, issuer, pollUrl },
      notifier: {
        create: createNotifierServices,
        signer,
        issuer,
        scheduler,
        ...(options.notifier?.fanOutPageSize === undefined ? {} : { fanOutPageSize: options.notifier.fanOutPageSize }),
        ...(options.notifier?.fanOutBudgetMs === undefined ? {} : { fanOutBudgetMs: options.notifier.fanOutBudgetMs }),
        ...(options.notifier?.limits === undefined ? {} : { limits: options.notifier.limits }),
      },
    });
    const { store, registry, authenticator, destinations, notifications, authorizations, review, streamQueue, streams } = services;
    for (const client of pki.clients) await registry.register(client.clientId, client.fingerprint, Date.now(), certificateFactsOfPem(client.certPem));
    // The demo recipients accept notifications from the demo provider, so the README's demo works.
    for (const recipientId of recipientIds) for (const providerId of providerIds) await authorizations.authorize(recipientId, providerId, 'operator');

    const authorizationServer = createAuthorizationServer({
      key: asKey,
      issuer: tokenIssuer,
      audience: server.origin,
      registry,
      // Recipients may also manage and poll their SSF streams.
      defaultScopes: [...DEFAULT_POLL_SCOPES, ...SSF_RECEIVER_SCOPES, SSF_POLL_SCOPE],
      allowedScopes: Object.fromEntries(providerIds.map((id) => [id, NOTIFIER_SCOPES])),
      // A recipient may ask for its own /recipient/ routes' scope explicitly.
      optionalScopes: NOTIFIER_RECIPIENT_SCOPES,
      tokenLifetimeSeconds: LOCAL_TOKEN_LIFETIME_SECONDS,
    });
    token = authorizationServer.token;
    tokenKeys = authorizationServer.keys;
    poll = createPollHandler({ store, authenticator, tokens, settings, logger });
    management = createManagementHandler(composeManagement(services, { issuer, pollUrl, publicKeys: () => publishedKeys.keys(), logger }));

    const publisher = new Publisher({ store: streamQueue, signer, issuer });
    const config: LocalConfig = {
      pollUrl,
      jwksUrl: `${server.origin}${JWKS_PATH}`,
      publicJwksUrl: `${publicServer.origin}${JWKS_PATH}`,
      tokenUrl: `${server.origin}${TOKEN_PATH}`,
      caCertFile: pki.caCertFile,
      issuer,
      clients: pki.clients.filter((c) => recipientIds.includes(c.clientId)).map(({ clientId, certFile, keyFile }) => ({ clientId, certFile, keyFile })),
      providers: pki.clients.filter((c) => providerIds.includes(c.clientId)).map(({ clientId, certFile, keyFile }) => ({ clientId, certFile, keyFile })),
      dynamodb: { endpoint, tableName },
      settings: {
        leaseSeconds: settings.leaseSeconds,
        longPollSeconds: settings.longPollSeconds,
        maxEvents: settings.maxEvents,
        maxDeliveryAttempts: settings.maxDeliveryAttempts,
      },
    };
    const configFile = configFileIn(dir);
    await writeLocalConfig(configFile, config);

    let stopping: Promise<void> | undefined;
    return {
      config,
      configFile,
      dir,
      pki,
      server,
      dynamo,
      settings,
      logger,
      publisher,
      registry,
      store,
      streamQueue,
      streams,
      destinations,
      notifications,
      authorizations,
      review,
      documentClient,
      signingKeyFile,
      publicJwk: verificationJwk,
      publishedKeys,
      publicServer,
      stop: () => (stopping ??= cleanUp()),
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
