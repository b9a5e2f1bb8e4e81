import { performance } from 'node:perf_hooks';
import { Conflict, InvalidRequest } from '../core/errors.ts';
import { DEFAULT_SET_TTL_SECONDS } from '../producer/publish.ts';
import { uuidv7 } from '../producer/uuidv7.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';
import type { NewNotification, NotificationStore } from '../store/notification-store.ts';
import type { ProviderQuotaStore } from '../store/provider-quota-store.ts';
import type { NotificationItem } from '../store/notifier-items.ts';
import type { NotifierQueue } from '../store/notifier-queue.ts';
import type { QueueStore } from '../store/queue-store.ts';
import type { ReceiptStore } from '../store/receipt-store.ts';
import { ItemExists } from '../store/store-errors.ts';
import type { ListOptions, Page } from './destinations.ts';
import { FanOutEngine, type Advance, type FanOutDependencies } from './fan-out.ts';
import { NotificationAdmission } from './admission.ts';
import { resolveLimits, type NotifierLimits } from './limits.ts';
import { admittedBulk, parseOperations, type BulkIssuer } from './notification-bulk.ts';
import { nextRevision, notificationError, parseNotification, type NotificationOperation, type ParsedNotification } from './notification-input.ts';
import {
  toNotification,
  type ChangeResult,
  type FanOutResult,
  type FanOutScheduler,
  type IssueBulkResult,
  type IssueResult,
  type Notification,
  type NotificationInput,
} from './notification-types.ts';
import { readStatuses, type DestinationStatus } from './status.ts';
import { inProtocol, missing, stale } from './storage-errors.ts';
import { assertProviderId, canonicalJson, checkExpectedVersion, checkLimit, checkNotificationId } from './validation.ts';

export type { NotificationClaims, NotificationState } from '../store/notifier-items.ts';
export type { DeliveryState, DestinationStatus } from './status.ts';
export * from './notification-types.ts';

export interface NotificationServiceOptions extends FanOutDependencies {
  readonly notifications: NotificationStore;
  /** Each provider's notifications per minute and destination count, held under `limits`. */
  readonly quota: ProviderQuotaStore;
  /** @default the contract's NOTIFIER_LIMIT_DEFAULTS */
  readonly limits?: Partial<NotifierLimits>;
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

const subject = (id: string, expected?: number) => ({ kind: 'notification', id, expected }) as const;

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
  readonly #store: NotificationStore;
  readonly #receipts: ReceiptStore;
  readonly #queue: QueueStore;
  readonly #notifierQueue: NotifierQueue;
  readonly #now: () => number;
  readonly #scheduler: FanOutScheduler | undefined;
  readonly #ttlSeconds: number;
  readonly #engine: FanOutEngine;
  readonly #bulk: BulkIssuer;
  readonly #limits: NotifierLimits;
  readonly #admission: NotificationAdmission;

  constructor(options: NotificationServiceOptions) {
    if (typeof options.issuer !== 'string' || !options.issuer) throw new ProgrammerError('issuer is required');
    const pageSize = options.fanOutPageSize ?? 100;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new ProgrammerError('fanOutPageSize must be an integer from 1 to 1000');
    const budgetMs = options.fanOutBudgetMs ?? 10_000;
    if (!Number.isFinite(budgetMs) || budgetMs < 0) throw new ProgrammerError('fanOutBudgetMs must be a non-negative number');
    const ttlSeconds = options.ttlSeconds ?? DEFAULT_SET_TTL_SECONDS;
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new ProgrammerError('ttlSeconds must be a positive integer');
    this.#store = options.notifications;
    this.#receipts = options.receipts;
    this.#queue = options.queue;
    this.#notifierQueue = options.notifierQueue;
    this.#now = options.now ?? Date.now;
    this.#scheduler = options.scheduler;
    this.#ttlSeconds = ttlSeconds;
    this.#limits = resolveLimits(options.limits);
    this.#admission = new NotificationAdmission(options.quota, this.#limits, this.#now);
    this.#engine = new FanOutEngine({
      notificationStore: options.notifications,
      receipts: options.receipts,
      queue: options.queue,
      notifierQueue: options.notifierQueue,
      signer: options.signer,
      issuer: options.issuer,
      destinations: options.destinations,
      authorizations: options.authorizations,
      inbox: options.inbox,
      now: this.#now,
      pageSize,
      budgetMs,
    });
    this.#bulk = {
      apply: async (providerId, operation) => {
        switch (operation.op) {
          case 'issue': {
            const { item, created } = await this.#create(providerId, this.#parse(operation.input));
            return { item, status: created ? 201 : 200 };
          }
          case 'replace':
            return { item: await this.#replaceWrite(providerId, operation.notificationId, operation.input, operation.expectedVersion, false), status: 200 };
          case 'withdraw':
            return { item: await this.#withdrawWrite(providerId, operation.notificationId, operation.expectedVersion), status: 200 };
        }
      },
      advance: (providerId, item, startedAt, minPages) => this.#advance(providerId, item, startedAt, minPages),
      scheduleIfDue: (providerId, advance) => this.#scheduleIfDue(providerId, advance),
    };
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
    await this.#admission.admit(providerId, 1);
    const { item, created } = await this.#create(providerId, parsed);
    const advance = await this.#advance(providerId, item, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, created, scheduled };
  }

  /** Resumes a fan-out (or withdrawal sweep) from its saved cursor. 404 when there is no such notification. */
  async continueFanOut(providerId: string, notificationId: string): Promise<FanOutResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    const item = await this.#mustRead(providerId, checkNotificationId(notificationId));
    const advance = await this.#advance(providerId, item, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, contended: advance.contended, scheduled };
  }

  /**
   * Notifications to issue, each answered on its own (applyBulk, notification-bulk.ts): the same as
   * `bulk` with an `issue` operation each, except that an id may repeat (in the order given: a safe retry, or a 409).
   */
  async issueBulk(providerId: string, inputs: readonly NotificationInput[]): Promise<IssueBulkResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    this.#checkBulkSize(inputs, 'notifications');
    return this.#bulkOf(providerId, inputs, inputs.map((input): NotificationOperation => ({ op: 'issue', input: input as unknown as Record<string, unknown> })), startedAt);
  }

  /**
   * Issue, replace and withdraw operations, each answered on its own (a notificationId at most once
   * per request). The whole request is refused (400) when it could make the deployment sign more than
   * limits.maxSetsPerRequest SETs (its issues and replaces × the provider's destinations), and its
   * issues and replaces count against the per-minute rate (429).
   */
  async bulk(providerId: string, operations: readonly unknown[]): Promise<IssueBulkResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    this.#checkBulkSize(operations, 'operations');
    return this.#bulkOf(providerId, operations, parseOperations(operations), startedAt);
  }

  #checkBulkSize(items: unknown, what: string): void {
    const max = this.#limits.maxBulkItems;
    if (!Array.isArray(items) || items.length < 1 || items.length > max) throw new InvalidRequest(`A bulk request holds 1 to ${max} ${what}`);
  }

  #bulkOf(providerId: string, raw: readonly unknown[], operations: readonly (NotificationOperation | InvalidRequest)[], startedAt: number): Promise<IssueBulkResult> {
    const problemOf = (input: unknown) => notificationError(input, this.#ttlSeconds, this.#limits.maxClaimsBytes);
    return admittedBulk({ issuer: this.#bulk, admission: this.#admission, problemOf }, providerId, raw, operations, startedAt);
  }


  async get(providerId: string, notificationId: string): Promise<Notification> {
    assertProviderId(providerId);
    return toNotification(await this.#mustRead(providerId, checkNotificationId(notificationId)));
  }

  /** In notificationId order (issue order for UUIDv7 ids). Eventually consistent. */
  async list(providerId: string, options: ListOptions = {}): Promise<Page<Notification>> {
    assertProviderId(providerId);
    const limit = checkLimit(options.limit);
    const page = await inProtocol(subject(''), () => this.#store.list(providerId, { limit, cursor: options.cursor }));
    return { items: page.items.map(toNotification), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
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
    const next = await this.#replaceWrite(providerId, notificationId, input, expectedVersion, true);
    return this.#changed(providerId, next, startedAt);
  }

  /**
   * Withdraws the notification: undelivered SETs of every revision leave their queues (their
   * receipts say `withdrawn`); delivered ones stay with their recipients. Final. Withdrawing a
   * withdrawn notification again is a no-op (unless `expectedVersion` is stale: 409). 404 when missing.
   */
  async withdraw(providerId: string, notificationId: string, expectedVersion?: number): Promise<ChangeResult> {
    const startedAt = performance.now();
    assertProviderId(providerId);
    return this.#changed(providerId, await this.#withdrawWrite(providerId, notificationId, expectedVersion), startedAt);
  }

  async #changed(providerId: string, item: NotificationItem, startedAt: number): Promise<ChangeResult> {
    const advance = await this.#advance(providerId, item, startedAt);
    const scheduled = await this.#scheduleIfDue(providerId, advance);
    return { notification: toNotification(advance.item), done: advance.done, scheduled };
  }

  /** Writes the next revision (the fan-out is the caller's); `admit` counts it against the rate first. */
  async #replaceWrite(providerId: string, notificationId: string, input: unknown, expectedVersion: number | undefined, admit: boolean): Promise<NotificationItem> {
    const id = checkNotificationId(notificationId);
    const parsed = this.#parse(input);
    if (parsed.notificationId !== undefined && parsed.notificationId !== id) throw new InvalidRequest('notificationId cannot be changed');
    const expected = checkExpectedVersion(expectedVersion);
    const current = await this.#mustRead(providerId, id);
    if (expected !== undefined && current.version !== expected) throw stale('notification', id, current.version, expected);
    if (current.state === 'withdrawn') throw new Conflict(`The notification ${id} was withdrawn and cannot be replaced`);
    if (admit) await this.#admission.admit(providerId, 1);

    const next = nextRevision(current, parsed, this.#now());
    // A failed condition is a 404 (gone) or a 409 naming the stored version against the one read.
    await inProtocol(subject(id, current.version), () => this.#store.replace(next, current.version));
    return next;
  }

  /** Marks the notification withdrawn (its sweep is the caller's); a withdrawn one is left as it is. */
  async #withdrawWrite(providerId: string, notificationId: string, expectedVersion: number | undefined): Promise<NotificationItem> {
    const id = checkNotificationId(notificationId);
    const expected = checkExpectedVersion(expectedVersion);
    const item = await this.#mustRead(providerId, id);
    if (expected !== undefined && item.version !== expected) throw stale('notification', id, item.version, expected);
    if (item.state === 'withdrawn') return item;
    return inProtocol(subject(id, item.version), () => this.#store.withdraw(item, new Date(this.#now()).toISOString()));
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
    // The cursor is checked (400) as the page is read, before the notification (404).
    const page = await inProtocol(subject(id), () => this.#receipts.list(providerId, id, { limit, cursor: options.cursor }));
    await this.#mustRead(providerId, id);
    return {
      items: await inProtocol(subject(id), () => readStatuses(this.#queue, this.#notifierQueue, page.items, this.#now())),
      ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
    };
  }

  async #create(providerId: string, parsed: ParsedNotification): Promise<{ item: NotificationItem; created: boolean }> {
    const now = this.#now();
    const at = new Date(now).toISOString();
    const notificationId = parsed.notificationId ?? uuidv7(now);
    const fields: NewNotification = {
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
      return { item: await this.#store.create(providerId, fields), created: true };
    } catch (error) {
      if (!(error instanceof ItemExists)) throw error;
    }
    // The id exists (notifications are never deleted): a retry if the request is the same.
    const existing = await this.#mustRead(providerId, notificationId);
    const same = canonicalJson({ claims: existing.claims, ttlSeconds: Number(existing.ttlSeconds) }) === canonicalJson({ claims: parsed.claims, ttlSeconds: parsed.ttlSeconds });
    if (!same) throw new Conflict(`A notification ${notificationId} already exists with different claims`);
    return { item: existing, created: false };
  }

  #parse(input: unknown): ParsedNotification {
    return parseNotification(input, this.#ttlSeconds, this.#limits.maxClaimsBytes);
  }

  async #mustRead(providerId: string, notificationId: string): Promise<NotificationItem> {
    const item = await inProtocol(subject(notificationId), () => this.#store.read(providerId, notificationId));
    if (!item) throw missing('notification', notificationId);
    return item;
  }

  #advance(providerId: string, item: NotificationItem, startedAt: number, minPages?: number): Promise<Advance> {
    return inProtocol(subject(item.notificationId), () => this.#engine.advance(providerId, item, startedAt, minPages));
  }

  async #scheduleIfDue(providerId: string, advance: Advance): Promise<boolean> {
    if (advance.done || advance.contended || !this.#scheduler) return false;
    await this.#scheduler.schedule(providerId, advance.item.notificationId);
    return true;
  }
}
