import { performance } from 'node:perf_hooks';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Conflict, InvalidRequest, NotFound, SetpollError } from '../core/errors.ts';
import { DEFAULT_SET_TTL_SECONDS } from '../producer/publish.ts';
import type { SetSigner } from '../producer/signer.ts';
import { uuidv7 } from '../producer/uuidv7.ts';
import { decodeCursor, encodeCursor } from '../store/notifier-cursor.ts';
import type { NotificationClaims, NotificationItem, NotificationState, ReceiptItem } from '../store/notifier-items.ts';
import { NotifierQueue } from '../store/notifier-queue.ts';
import type { QueueStore } from '../store/queue-store.ts';
import { DESTINATION_PREFIX, NOTIFICATION_PREFIX, notificationSk, providerPk, receiptPk } from '../store/schema.ts';
import { mapLimit } from './concurrency.ts';
import { MAX_BULK_ITEMS, type DestinationService, type ListOptions, type Page } from './destinations.ts';
import { FanOutEngine, hasWork, type Advance } from './fan-out.ts';
import { queryPage } from './query.ts';
import { readStatuses, type DestinationStatus } from './status.ts';
import {
  assertProviderId,
  canonicalJson,
  checkClaims,
  checkExpectedVersion,
  checkLimit,
  checkNotificationId,
  checkTtlSeconds,
  isObject,
  rejectUnknownMembers,
} from './validation.ts';

export type { NotificationClaims, NotificationState } from '../store/notifier-items.ts';
export type { DeliveryState, DestinationStatus } from './status.ts';

/**
 * Runs `NotificationService.continueFanOut(providerId, notificationId)` later, in a fresh
 * invocation: an async Lambda self-invocation in AWS, a deferred call locally.
 *
 * Contract: when a scheduler is configured, the service itself schedules the next continuation
 * every time it stops with work left (issue, issueBulk, replace, withdraw and continueFanOut alike)
 * and says so with `scheduled: true`. A caller never schedules on its own then, so exactly one chain
 * of continuations runs per notification. A continuation that finds another one advancing
 * (`contended`) stops without scheduling: the winner owns the chain.
 */
export interface FanOutScheduler {
  schedule(providerId: string, notificationId: string): Promise<void>;
}

export interface NotificationInput {
  /** Chosen by the provider (1-128 chars of A-Z a-z 0-9 . _ ~ : -), or a UUIDv7 is made. */
  readonly notificationId?: string;
  /** `events` of the SET: event-type URI -> event object (RFC 8417). */
  readonly events: Record<string, Record<string, unknown>>;
  readonly sub?: string;
  /** RFC 9493 subject identifier. */
  readonly sub_id?: Record<string, unknown>;
  readonly txn?: string;
  /** Time of event, epoch s. */
  readonly toe?: number;
  /** How long each SET stays queued. @default the service's ttlSeconds (7 days) */
  readonly ttlSeconds?: number;
}

export interface FanOutProgress {
  /** Destinations of the current revision whose queue received its SET. */
  readonly queued: number;
  /** Destinations passed over: their eventTypes name none of the notification's event types. */
  readonly skipped: number;
  /** Undelivered SETs taken back by the latest replace or withdraw. */
  readonly withdrawn: number;
  /** Fan-out or withdrawal work remains (a continuation runs or is due). */
  readonly pending: boolean;
}

export interface Notification {
  readonly notificationId: string;
  /** 1 on issue; each replace adds 1. */
  readonly revision: number;
  /** The jti of every SET of the current revision. */
  readonly jti: string;
  readonly claims: NotificationClaims;
  readonly ttlSeconds: number;
  /** `iat` of the current revision's SETs, epoch s. */
  readonly iat: number;
  /** ISO time the current revision's SETs expire. */
  readonly expiresAt: string;
  readonly state: NotificationState;
  readonly fanOut: FanOutProgress;
  /** Changes on issue, replace and withdraw (not on fan-out progress): pass it as `expectedVersion`. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface IssueResult {
  readonly notification: Notification;
  /** The fan-out (and any withdrawal sweep) is complete. */
  readonly done: boolean;
  /** False when the id existed with the same claims: a safe retry that resumed the existing one. */
  readonly created: boolean;
  /** A continuation was scheduled through the FanOutScheduler (only when not done). */
  readonly scheduled: boolean;
}

export interface ChangeResult {
  readonly notification: Notification;
  readonly done: boolean;
  readonly scheduled: boolean;
}

export interface FanOutResult extends ChangeResult {
  /** Another continuation advanced concurrently; this one stopped and left the work to it. */
  readonly contended: boolean;
}

/** 201 issued, 200 a safe retry of an existing one; 400, 409; 503 a dependency failed (retry the item). */
export type IssueBulkStatus = 200 | 201 | 400 | 409 | 503;

export interface IssueBulkItemResult {
  readonly index: number;
  readonly notificationId?: string;
  readonly ok: boolean;
  readonly status: IssueBulkStatus;
  readonly notification?: Notification;
  readonly done?: boolean;
  readonly scheduled?: boolean;
  readonly error?: { readonly err: string; readonly description: string };
}

export interface IssueBulkResult {
  readonly results: IssueBulkItemResult[];
  readonly totals: { readonly succeeded: number; readonly failed: number };
}

export interface NotificationServiceOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly queue: QueueStore;
  readonly signer: SetSigner;
  /** `iss` of every SET. */
  readonly issuer: string;
  readonly destinations: DestinationService;
  /** Epoch ms. */
  readonly now?: () => number;
  /** Destinations per fan-out page (1 to 1000). @default 100 */
  readonly fanOutPageSize?: number;
  /** Time one call spends fanning out before it stops and leaves the rest to a continuation. @default 10_000 */
  readonly fanOutBudgetMs?: number;
  readonly scheduler?: FanOutScheduler;
  /** Default retention of a notification's SETs. @default 7 days */
  readonly ttlSeconds?: number;
}

const NOTIFICATION_MEMBERS = new Set(['notificationId', 'events', 'sub', 'sub_id', 'txn', 'toe', 'ttlSeconds']);
/** Notifications of one bulk request created (and fanned out) at once. */
const BULK_CONCURRENCY = 8;
const BULK_FAN_OUT_CONCURRENCY = 4;

const NOTIFICATION_ABSENT = 'attribute_not_exists(#sk)';
const NOTIFICATION_EXISTS = 'attribute_exists(#sk)';
const VERSION_MATCHES = '#version = :expectedVersion';

interface ParsedInput {
  readonly notificationId?: string;
  readonly claims: NotificationClaims;
  readonly ttlSeconds: number;
}

export function toNotification(item: NotificationItem): Notification {
  return {
    notificationId: item.notificationId,
    revision: Number(item.revision),
    jti: item.jti,
    claims: item.claims,
    ttlSeconds: Number(item.ttlSeconds),
    iat: Number(item.iat),
    expiresAt: new Date((Number(item.iat) + Number(item.ttlSeconds)) * 1000).toISOString(),
    state: item.state,
    fanOut: {
      queued: Number(item.queued ?? 0),
      skipped: Number(item.skipped ?? 0),
      withdrawn: Number(item.withdrawnSets ?? 0),
      pending: hasWork(item),
    },
    version: Number(item.version),
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

/**
 * Notifications of Data Providers: each becomes a signed SET (`typ: secevent+jwt`) fanned out to
 * the queues of the provider's matching destinations, with per-destination receipt status.
 *
 * Every key starts with the caller's provider id, so one provider can never see or change another's
 * notifications (a foreign id answers 404, exactly like a missing one).
 *
 * Long fan-outs: see FanOutEngine. `issue` fans out inline until done or until `fanOutBudgetMs`
 * is spent, then schedules `continueFanOut` through the FanOutScheduler.
 *
 * Replace and withdraw: SETs of earlier revisions that were not delivered yet are withdrawn from
 * their queues; SETs already delivered (out on lease, or with a counted attempt) stay with their
 * recipients, which learn of the change from the new revision (replace) or not at all (withdraw).
 * A replace fans the new revision out to every matching destination, including those that already
 * received the old one; its SET has a new jti. Status reports each destination's latest receipt.
 */
export class NotificationService {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #queue: QueueStore;
  readonly #notifierQueue: NotifierQueue;
  readonly #now: () => number;
  readonly #scheduler: FanOutScheduler | undefined;
  readonly #ttlSeconds: number;
  readonly #engine: FanOutEngine;

  constructor(options: NotificationServiceOptions) {
    if (!options.tableName) throw new TypeError('tableName is required');
    if (typeof options.issuer !== 'string' || !options.issuer) throw new TypeError('issuer is required');
    const pageSize = options.fanOutPageSize ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new TypeError('fanOutPageSize must be an integer from 1 to 1000');
    const budgetMs = options.fanOutBudgetMs ?? 10_000;
    if (!Number.isFinite(budgetMs) || budgetMs < 0) throw new TypeError('fanOutBudgetMs must be a non-negative number');
    const ttlSeconds = options.ttlSeconds ?? DEFAULT_SET_TTL_SECONDS;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new TypeError('ttlSeconds must be a positive integer');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#queue = options.queue;
    this.#now = options.now ?? Date.now;
    this.#scheduler = options.scheduler;
    this.#ttlSeconds = ttlSeconds;
    this.#notifierQueue = new NotifierQueue({ client: options.client, tableName: options.tableName, queue: options.queue });
    this.#engine = new FanOutEngine({
      client: options.client,
      tableName: options.tableName,
      queue: options.queue,
      notifierQueue: this.#notifierQueue,
      signer: options.signer,
      issuer: options.issuer,
      destinations: options.destinations,
      now: this.#now,
      pageSize,
      budgetMs,
    });
  }

  /**
   * Creates the notification and fans it out. Idempotent on the notification id: the same id with
   * the same claims (and ttlSeconds) is a safe retry that resumes the fan-out and returns the
   * existing notification (`created: false`); with different claims it is a 409.
   */
  async issue(providerId: string, input: NotificationInput): Promise<IssueResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    const parsed = this.#parse(input);
    const { item, created } = await this.#create(providerId, parsed);
    const advance = await this.#engine.advance(providerId, item, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, created, scheduled };
  }

  /** Resumes a fan-out (or withdrawal sweep) from its saved cursor. 404 when there is no such notification. */
  async continueFanOut(providerId: string, notificationId: string): Promise<FanOutResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    const item = await this.#mustRead(providerId, checkNotificationId(notificationId));
    const advance = await this.#engine.advance(providerId, item, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, contended: advance.contended, scheduled };
  }

  /**
   * Up to MAX_BULK_ITEMS notifications, each answered on its own (the call throws only for a
   * malformed request). All are created first; then they fan out within one shared time budget,
   * and those not done are scheduled.
   */
  async issueBulk(providerId: string, inputs: readonly NotificationInput[]): Promise<IssueBulkResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > MAX_BULK_ITEMS) {
      throw new InvalidRequest(`A bulk request holds 1 to ${MAX_BULK_ITEMS} notifications`);
    }
    const results = new Array<IssueBulkItemResult>(inputs.length);
    const created = new Map<number, { item: NotificationItem; created: boolean }>();
    await mapLimit(inputs, BULK_CONCURRENCY, async (input: unknown, index) => {
      const givenId = isObject(input) && typeof input.notificationId === 'string' ? input.notificationId : undefined;
      try {
        created.set(index, await this.#create(providerId, this.#parse(input)));
      } catch (error) {
        results[index] = bulkFailure(index, givenId, error);
      }
    });
    await mapLimit([...created], BULK_FAN_OUT_CONCURRENCY, async ([index, { item, created: isNew }]) => {
      let advance: Advance = { item, done: !hasWork(item), contended: false };
      let scheduled = false;
      try {
        // Fan out only while the shared budget lasts; the rest is scheduled right away.
        advance = await this.#engine.advance(providerId, item, startedAt, 0);
        scheduled = await this.#scheduleIfDue(providerId, advance);
      } catch (error) {
        // The notification exists; retrying the same item resumes its fan-out safely.
        results[index] = { ...bulkFailure(index, item.notificationId, error), notification: toNotification(advance.item) };
        return;
      }
      results[index] = {
        index,
        notificationId: item.notificationId,
        ok: true,
        status: isNew ? 201 : 200,
        notification: toNotification(advance.item),
        done: advance.done,
        scheduled,
      };
    });
    const succeeded = results.filter((r) => r.ok).length;
    return { results, totals: { succeeded, failed: results.length - succeeded } };
  }

  async get(providerId: string, notificationId: string): Promise<Notification> {
    assertProviderId(providerId);
    return toNotification(await this.#mustRead(providerId, checkNotificationId(notificationId)));
  }

  /** In notificationId order (issue order for UUIDv7 ids). Eventually consistent. */
  async list(providerId: string, options: ListOptions = {}): Promise<Page<Notification>> {
    assertProviderId(providerId);
    const limit = checkLimit(options.limit);
    const pk = providerPk(providerId);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, pk, NOTIFICATION_PREFIX).sk;
    const page = await queryPage<NotificationItem>(this.#client, this.#table, {
      pk,
      prefix: NOTIFICATION_PREFIX,
      limit,
      consistent: false,
      ...(after === undefined ? {} : { afterSk: after }),
    });
    return {
      items: page.items.map(toNotification),
      ...(page.more && page.lastSk ? { nextCursor: encodeCursor({ pk, sk: page.lastSk }) } : {}),
    };
  }

  /**
   * A new revision with new claims and a new jti. Undelivered SETs of earlier revisions are
   * withdrawn first; then the new revision fans out to every matching destination (one that already
   * received the old revision receives the new one too). 404 when missing; 409 on a stale
   * `expectedVersion` or when the notification was withdrawn (withdrawal is final).
   */
  async replace(providerId: string, notificationId: string, input: Omit<NotificationInput, 'notificationId'> & { notificationId?: string }, expectedVersion?: number): Promise<ChangeResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    const id = checkNotificationId(notificationId);
    const parsed = this.#parse(input);
    if (parsed.notificationId !== undefined && parsed.notificationId !== id) throw new InvalidRequest('notificationId cannot be changed');
    const expected = checkExpectedVersion(expectedVersion);
    const current = await this.#mustRead(providerId, id);
    if (expected !== undefined && current.version !== expected) throw staleVersion(id, current.version, expected);
    if (current.state === 'withdrawn') throw new Conflict(`The notification ${id} was withdrawn and cannot be replaced`);

    const now = this.#now();
    const { cursor: _cursor, sweepCursor: _sweepCursor, ...kept } = current;
    const next: NotificationItem = {
      ...kept,
      revision: current.revision + 1,
      jti: uuidv7(now),
      iat: Math.floor(now / 1000),
      claims: parsed.claims,
      ttlSeconds: parsed.ttlSeconds,
      state: 'fanning_out',
      queued: 0,
      skipped: 0,
      sweeping: true,
      withdrawnSets: 0,
      step: current.step + 1,
      version: current.version + 1,
      updatedAt: new Date(now).toISOString(),
    };
    const put = new PutCommand({
      TableName: this.#table,
      Item: next,
      ConditionExpression: `${NOTIFICATION_EXISTS} AND ${VERSION_MATCHES}`,
      ExpressionAttributeNames: { '#sk': 'sk', '#version': 'version' },
      ExpressionAttributeValues: { ':expectedVersion': current.version },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    await this.#writeIfVersion(id, current.version, () => this.#client.send(put));
    const advance = await this.#engine.advance(providerId, next, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, scheduled };
  }

  /**
   * Withdraws the notification: undelivered SETs of every revision leave their queues (their
   * receipts say `withdrawn`); delivered ones stay with their recipients. Final. Withdrawing a
   * withdrawn notification again is a no-op (unless `expectedVersion` is stale: 409). 404 when missing.
   */
  async withdraw(providerId: string, notificationId: string, expectedVersion?: number): Promise<ChangeResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    const id = checkNotificationId(notificationId);
    const expected = checkExpectedVersion(expectedVersion);
    let item = await this.#mustRead(providerId, id);
    if (expected !== undefined && item.version !== expected) throw staleVersion(id, item.version, expected);
    if (item.state !== 'withdrawn') {
      const now = new Date(this.#now()).toISOString();
      const update = new UpdateCommand({
        TableName: this.#table,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression:
          'SET #state = :withdrawn, #sweeping = :true, #withdrawnSets = :zero, #step = #step + :one, #version = #version + :one, #updatedAt = :now REMOVE #cursor, #sweepCursor',
        ConditionExpression: `${NOTIFICATION_EXISTS} AND ${VERSION_MATCHES}`,
        ExpressionAttributeNames: {
          '#sk': 'sk',
          '#state': 'state',
          '#sweeping': 'sweeping',
          '#withdrawnSets': 'withdrawnSets',
          '#step': 'step',
          '#version': 'version',
          '#updatedAt': 'updatedAt',
          '#cursor': 'cursor',
          '#sweepCursor': 'sweepCursor',
        },
        ExpressionAttributeValues: { ':withdrawn': 'withdrawn', ':true': true, ':zero': 0, ':one': 1, ':now': now, ':expectedVersion': item.version },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      const out = await this.#writeIfVersion(id, item.version, () => this.#client.send(update));
      item = out.Attributes as NotificationItem;
    }
    const advance = await this.#engine.advance(providerId, item, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, scheduled };
  }

  /**
   * Per-destination delivery state of the notification's SETs (the latest receipt per
   * destination), a page at a time in clientId order. See readStatuses for how each state is
   * derived. 404 when there is no such notification; a cursor of another listing is a 400.
   */
  async status(providerId: string, notificationId: string, options: ListOptions = {}): Promise<Page<DestinationStatus>> {
    assertProviderId(providerId);
    const id = checkNotificationId(notificationId);
    const limit = checkLimit(options.limit);
    const pk = receiptPk(providerId, id);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, pk, DESTINATION_PREFIX).sk;
    await this.#mustRead(providerId, id);
    const page = await queryPage<ReceiptItem>(this.#client, this.#table, {
      pk,
      prefix: DESTINATION_PREFIX,
      limit,
      consistent: true,
      ...(after === undefined ? {} : { afterSk: after }),
    });
    return {
      items: await readStatuses(this.#queue, this.#notifierQueue, page.items, this.#now()),
      ...(page.more && page.lastSk ? { nextCursor: encodeCursor({ pk, sk: page.lastSk }) } : {}),
    };
  }

  #parse(input: unknown): ParsedInput {
    if (!isObject(input)) throw new InvalidRequest('The notification must be a JSON object');
    rejectUnknownMembers(input, NOTIFICATION_MEMBERS, 'the notification');
    return {
      ...(input.notificationId === undefined ? {} : { notificationId: checkNotificationId(input.notificationId) }),
      claims: checkClaims(input),
      ttlSeconds: checkTtlSeconds(input.ttlSeconds, this.#ttlSeconds),
    };
  }

  async #create(providerId: string, parsed: ParsedInput): Promise<{ item: NotificationItem; created: boolean }> {
    const now = this.#now();
    const at = new Date(now).toISOString();
    const notificationId = parsed.notificationId ?? uuidv7(now);
    const item: NotificationItem = {
      pk: providerPk(providerId),
      sk: notificationSk(notificationId),
      notificationId,
      revision: 1,
      jti: uuidv7(now),
      iat: Math.floor(now / 1000),
      claims: parsed.claims,
      ttlSeconds: parsed.ttlSeconds,
      state: 'fanning_out',
      queued: 0,
      skipped: 0,
      withdrawnSets: 0,
      step: 0,
      version: 1,
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.#client.send(
        new PutCommand({ TableName: this.#table, Item: item, ConditionExpression: NOTIFICATION_ABSENT, ExpressionAttributeNames: { '#sk': 'sk' } }),
      );
      return { item, created: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // The id exists (notifications are never deleted): a retry if the request is the same.
    const existing = await this.#mustRead(providerId, notificationId);
    const same = canonicalJson({ claims: existing.claims, ttlSeconds: Number(existing.ttlSeconds) }) === canonicalJson({ claims: parsed.claims, ttlSeconds: parsed.ttlSeconds });
    if (!same) throw new Conflict(`A notification ${notificationId} already exists with different claims`);
    return { item: existing, created: false };
  }

  async #mustRead(providerId: string, notificationId: string): Promise<NotificationItem> {
    const item = await this.#engine.read(providerId, notificationId);
    if (!item) throw new NotFound(`No notification ${notificationId}`);
    return item;
  }

  /** Runs a write conditional on the version read; its failure is a 404 (gone) or 409 (changed). */
  async #writeIfVersion<T>(notificationId: string, readVersion: number, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (!error.Item) throw new NotFound(`No notification ${notificationId}`, { cause: error });
      throw staleVersion(notificationId, Number(error.Item.version?.N), readVersion);
    }
  }

  async #scheduleIfDue(providerId: string, advance: Advance): Promise<boolean> {
    if (advance.done || advance.contended || !this.#scheduler) return false;
    await this.#scheduler.schedule(providerId, advance.item.notificationId);
    return true;
  }
}

const staleVersion = (id: string, current: number, expected: number) =>
  new Conflict(`The notification ${id} is at version ${current}, not ${expected}; read it and retry`);

function bulkFailure(index: number, notificationId: string | undefined, error: unknown): IssueBulkItemResult {
  const base = { index, ...(notificationId === undefined ? {} : { notificationId }), ok: false };
  if (error instanceof SetpollError && error.expose && (error.statusCode === 400 || error.statusCode === 409)) {
    return { ...base, status: error.statusCode, error: { err: error.code, description: error.message } };
  }
  if (error instanceof TypeError) throw error;
  return {
    ...base,
    status: 503,
    error: { err: 'temporarily_unavailable', description: 'A dependency failed; retry this notification with the same id and claims' },
  };
}
