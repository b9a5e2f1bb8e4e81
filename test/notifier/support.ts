import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createLocalJWKSet, type JWK } from 'jose';
import { PollService } from '../../lambdas/core/poll-service.ts';
import { parsePollRequest } from '../../lambdas/core/poll-request.ts';
import { DEFAULT_SETTINGS, type PollSettings } from '../../lambdas/core/settings.ts';
import type { FanOutScheduler } from '../../lambdas/notifier/notifications.ts';
import { createNotifierServices } from '../../lambdas/notifier/services.ts';
import { JwkSigner, loadOrCreateSigningJwk, publicJwk, type SetAlgorithm, type SetSigner } from '../../lambdas/producer/signer.ts';
import { createTestTable } from '../support/dynamo.ts';
import { isClientId } from '../../lambdas/shared/client-id.ts';
import type { DestinationService } from '../../lambdas/notifier/destinations.ts';
import type { NotifierLimits } from '../../lambdas/notifier/limits.ts';
import type { QueueStore } from '../../lambdas/store/queue-store.ts';
import { DynamoAuthorizationStore } from '../../lambdas/store/dynamo-authorization-store.ts';
export { ACCOUNT_DISABLED, CREDENTIAL_CHANGE, SESSION_REVOKED } from '../support/event-types.ts';

/** Near the real time: DynamoDB Local's TTL sweeper may delete items whose `ttl` is in the real past. */
export const T0 = Math.floor(Date.now() / 1000) * 1000;
export const ISSUER = 'https://provider.example';

const keys = new Map<SetAlgorithm, Promise<JWK>>();
/** One signing key per algorithm per test file: RSA key generation is slow. */
function signingJwk(alg: SetAlgorithm): Promise<JWK> {
  let jwk = keys.get(alg);
  if (!jwk) {
    jwk = loadOrCreateSigningJwk(join(mkdtempSync(join(tmpdir(), 'setpoll-notifier-key-')), 'key.json'), alg);
    keys.set(alg, jwk);
  }
  return jwk;
}

/** A scheduler that only records what it was asked to schedule. */
export function recordingScheduler(): FanOutScheduler & { calls: [string, string][] } {
  const calls: [string, string][] = [];
  return { calls, schedule: async (providerId, notificationId) => void calls.push([providerId, notificationId]) };
}

export interface NotifierSetupOptions {
  readonly alg?: SetAlgorithm;
  readonly fanOutPageSize?: number;
  readonly fanOutBudgetMs?: number;
  readonly scheduler?: FanOutScheduler;
  readonly settings?: Partial<PollSettings>;
  /** Replaces the client the services use (e.g. to inject faults); the store keeps the real one. */
  readonly wrapClient?: (client: DynamoDBDocumentClient) => DynamoDBDocumentClient;
  /** Replaces the signer the NotificationService uses (e.g. to pause a fan-out mid-page). */
  readonly wrapSigner?: (signer: SetSigner) => SetSigner;
  /**
   * `auto` (default): a register (single or bulk) first records the recipient's authorization of
   * the provider, as `setpoll recipients authorize` would, for tests about something else.
   * `explicit`: nothing is authorized unless the test does it (`authorize`).
   */
  readonly consent?: 'auto' | 'explicit';
  /** Replaces the queue the Notifier enqueues through (e.g. the SSF stream-aware one over the table's). */
  readonly wrapQueue?: (queue: QueueStore, table: { client: DynamoDBDocumentClient; tableName: string }) => QueueStore;
  /** Per-provider limits. @default the contract's defaults */
  readonly limits?: Partial<NotifierLimits>;
}

/** A fresh table, a movable clock, real signatures, the Notifier services and a PollService on one table. */
export async function setupNotifier(options: NotifierSetupOptions = {}) {
  const table = await createTestTable();
  const clock = { now: T0 };
  const now = () => clock.now;
  const alg = options.alg ?? 'ES256';
  const jwk = await signingJwk(alg);
  const signer = await JwkSigner.fromJwk(jwk);
  const client = options.wrapClient ? options.wrapClient(table.client) : table.client;
  const services = createNotifierServices({
    client,
    tableName: table.tableName,
    queue: options.wrapQueue ? options.wrapQueue(table.store, table) : table.store,
    signer: options.wrapSigner ? options.wrapSigner(signer) : signer,
    issuer: ISSUER,
    now,
    ...(options.fanOutPageSize === undefined ? {} : { fanOutPageSize: options.fanOutPageSize }),
    ...(options.fanOutBudgetMs === undefined ? {} : { fanOutBudgetMs: options.fanOutBudgetMs }),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  const { notifications, authorizations, review } = services;
  const authorizationStore = new DynamoAuthorizationStore({ client: table.client, tableName: table.tableName });
  /** Records that `recipientId` authorizes `providerId` (the operator's CLI path). */
  const authorize = (recipientId: string, providerId: string) => authorizationStore.authorize(recipientId, providerId, 'operator');
  const destinations = options.consent === 'explicit' ? services.destinations : withAutoConsent(services.destinations, authorize);
  const settings: PollSettings = { ...DEFAULT_SETTINGS, longPollSeconds: 1, ...options.settings };
  const pollService = new PollService({ store: table.store, settings, now });
  /** A short poll of a recipient's queue, as the poll endpoint would run it. */
  const poll = (clientId: string, body: Record<string, unknown> = {}, lang?: string) =>
    pollService.poll(clientId, parsePollRequest({ returnImmediately: true, ...body }), lang ? { lang } : {});
  /** The jtis queued for a recipient, in queue order. */
  const queuedJtis = async (clientId: string) => (await table.store.readQueue(clientId, 1000)).items.map((i) => i.jti);
  const jwks = createLocalJWKSet({ keys: [publicJwk(jwk)] });
  return { ...table, clock, signer, jwk, jwks, destinations, notifications, authorizations, review, authorizationStore, authorize, pollService, poll, queuedJtis, settings };
}

/** The service, its registers preceded by the recipient's authorization of the provider. */
function withAutoConsent(service: DestinationService, authorize: (recipientId: string, providerId: string) => Promise<unknown>): DestinationService {
  const consent = async (providerId: string, clientId: unknown) => {
    if (isClientId(providerId) && isClientId(clientId)) await authorize(clientId, providerId);
  };
  return new Proxy(service, {
    get(target, prop) {
      if (prop === 'register') {
        return async (providerId: string, input: { clientId?: unknown }) => {
          await consent(providerId, input?.clientId);
          return target.register(providerId, input as never);
        };
      }
      if (prop === 'bulk') {
        return async (providerId: string, operations: readonly { op?: unknown; clientId?: unknown }[], opts?: { atomic?: boolean }) => {
          if (Array.isArray(operations)) for (const op of operations) if (op?.op === 'register') await consent(providerId, op.clientId);
          return target.bulk(providerId, operations as never, opts);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * A document client whose `send` fails with a 5xx (after the SDK would have retried) for any
 * command `fails` picks, and passes every other command to the real client.
 */
export function failingClient(client: DynamoDBDocumentClient, fails: (input: Record<string, unknown>) => boolean): DynamoDBDocumentClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver) as unknown;
      return async (command: { input: Record<string, unknown> }) => {
        if (fails(command.input)) {
          throw new DynamoDBServiceException({ name: 'InternalServerError', $fault: 'server', message: 'injected', $metadata: { httpStatusCode: 500 } });
        }
        return (target.send as (c: unknown) => Promise<unknown>)(command);
      };
    },
  });
}

/** A gate a test opens by hand: `reached` resolves when code first waits at it. */
export function gate() {
  let open!: () => void;
  let arrive!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return {
    open,
    reached,
    wait: async () => {
      arrive();
      await opened;
    },
  };
}
