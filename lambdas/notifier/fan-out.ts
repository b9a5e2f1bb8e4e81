import { SET_PROVIDER_CLAIM } from '../contract.ts';
import { performance } from 'node:perf_hooks';
import type { SetSigner } from '../producer/signer.ts';
import type { AuthorizationStore } from '../store/authorization-store.ts';
import type { InboxStore } from '../store/inbox-store.ts';
import type { NotificationStore, ProgressChange } from '../store/notification-store.ts';
import type { NotificationItem } from '../store/notifier-items.ts';
import type { NotifierQueue, WithdrawOutcome } from '../store/notifier-queue.ts';
import type { EnqueueOutcome, QueueStore } from '../store/queue-store.ts';
import { StreamProfileViolation } from '../ssf/stream-queue-store.ts';
import type { ReceiptStore } from '../store/receipt-store.ts';
import { mapLimit, setClaims } from '../shared/helpers.ts';
import type { Destination, DestinationService } from './destinations.ts';

/** Sign + enqueue + receipt (or withdrawals) in flight at once within one page. */
export const FAN_OUT_CONCURRENCY = 16;

/** What a fan-out writes to and reads from: shared by the engine and the notification service that owns it. */
export interface FanOutDependencies {
  readonly receipts: ReceiptStore;
  /** The one enqueue point (stream-aware when SSF is on). */
  readonly queue: QueueStore;
  /** The Notifier's reads and withdrawals of queued SETs. */
  readonly notifierQueue: NotifierQueue;
  readonly signer: SetSigner;
  /** `iss` of every SET. */
  readonly issuer: string;
  readonly destinations: DestinationService;
  /** Recipients' consent: read once per page, and checked again in each enqueue. */
  readonly authorizations: AuthorizationStore;
  /** The recipients' inboxes: an entry per SET queued, for their review. */
  readonly inbox: InboxStore;
}

export interface FanOutEngineOptions extends FanOutDependencies {
  readonly notificationStore: NotificationStore;
  readonly now: () => number;
  readonly pageSize: number;
  readonly budgetMs: number;
}

export interface Advance {
  /** The notification as last saved or read. */
  readonly item: NotificationItem;
  /** No work left: the fan-out (and any withdrawal sweep) is complete. */
  readonly done: boolean;
  /** Another continuation saved progress first; this one stopped and left the work to it. */
  readonly contended: boolean;
}

/** Work left: undelivered SETs of earlier revisions to withdraw, or destinations to fan out to. */
export const hasWork = (item: NotificationItem): boolean => item.sweeping === true || item.state === 'fanning_out';

/** Whether a destination wants any of the notification's event types. */
export const matches = (destination: Pick<Destination, 'eventTypes'>, eventTypes: readonly string[]): boolean =>
  destination.eventTypes === undefined || destination.eventTypes.some((type) => eventTypes.includes(type));

/**
 * The fan-out of a notification to its provider's destinations, as resumable pages.
 *
 * Why pages and a cursor: a provider with 10,000 destinations cannot be fanned out within one
 * Lambda invocation's time. Each page (pageSize destinations in sort-key order) is processed and
 * then its progress (the last destination sk, the counts) is saved on the notification item. A call
 * stops after the page that exhausts its time budget and reports `done: false`; NotificationService
 * then schedules a continuation through its FanOutScheduler (an async self-invocation in AWS, a
 * deferred call locally), which resumes from the saved cursor. Every call processes at least one page,
 * so each continuation makes progress whatever the budget.
 *
 * Why it is safe to run twice: every SET of a revision carries the jti stored with the revision,
 * so a retried page re-puts the same jti, and the queue's conditional put keeps the first; a
 * destination whose receipt already names the revision is skipped outright (so a SET the recipient
 * already acknowledged is not queued again). Progress saves are conditional on the notification's
 * `version` (no replace or withdraw happened) and `step` (no other continuation saved since this one
 * read): of two concurrent continuations only one advances; the other stops (`contended`). If the
 * loser finds the notification was replaced or withdrawn meanwhile, it withdraws the SETs it just
 * queued, so a late page of an old revision cannot leave undelivered stale SETs behind.
 *
 * Before fanning out a new revision (replace), and after a withdraw, the engine sweeps the
 * notification's receipts and withdraws the SETs that were not delivered yet (see
 * NotifierQueue.withdraw); delivered ones stay with their recipients.
 *
 * Consent: a SET is queued to a recipient only while it authorizes the provider. Each page reads
 * the authorizations of its destinations (one strongly consistent batch), so no SET is signed for a
 * recipient that has not authorized the provider; each enqueue is then conditional on the
 * authorization item still existing (the enqueue's `origin`: lambdas/store/consented-enqueue.ts), so a deauthorization
 * racing the page cannot let a SET in after its withdrawal ran. Such destinations count as skipped;
 * those whose SSF stream does not take the SET (the stream-aware queue's 'filtered') as filtered.
 */
export class FanOutEngine {
  /** Its stores, signer and settings, as given: read where they are used. */
  readonly #deps: FanOutEngineOptions;

  constructor(options: FanOutEngineOptions) {
    this.#deps = options;
  }

  /** Strongly consistent read of a notification item. */
  read(providerId: string, notificationId: string): Promise<NotificationItem | undefined> {
    return this.#deps.notificationStore.read(providerId, notificationId);
  }

  /**
   * Processes pages until the work is done or the budget (measured from `startedAt`, a
   * performance.now() reading) is spent. `minPages` pages run whatever the budget (1 for a single
   * call, so it always progresses; 0 in bulk, where a later item may find the budget spent).
   */
  async advance(providerId: string, start: NotificationItem, startedAt: number, minPages = 1): Promise<Advance> {
    let item = start;
    for (let pages = 0; ; pages++) {
      if (!hasWork(item)) return { item, done: true, contended: false };
      if (pages >= minPages && performance.now() - startedAt >= this.#deps.budgetMs) return { item, done: false, contended: false };
      const saved = item.sweeping === true ? await this.#sweepPage(providerId, item) : await this.#fanOutPage(providerId, item);
      if (saved === undefined) {
        const fresh = (await this.read(providerId, item.notificationId)) ?? item;
        return { item: fresh, done: !hasWork(fresh), contended: true };
      }
      item = saved;
    }
  }

  async #fanOutPage(providerId: string, item: NotificationItem): Promise<NotificationItem | undefined> {
    const page = await this.#deps.destinations.pageAfter(providerId, item.cursor, this.#deps.pageSize);
    const types = Object.keys(item.claims.events);
    const matching = page.items.filter((d) => matches(d, types));
    const receiptOf = { providerId, notificationId: item.notificationId };
    // Destinations that already hold this revision's receipt were done by an earlier attempt of
    // this page: their SET was queued, and may since have been acknowledged or withdrawn.
    const receipts = await this.#deps.receipts
      .revisions(providerId, item.notificationId, matching.map((d) => d.clientId))
      .then((found) => new Set(found.filter((r) => r.revision >= item.revision).map((r) => r.clientId)));
    const pending = matching.filter((d) => !receipts.has(d.clientId));
    const authorized = pending.length === 0 ? new Set<string>() : await this.#deps.authorizations.authorizedAmong(providerId, pending.map((d) => d.clientId));
    const todo = pending.filter((d) => authorized.has(d.clientId));
    const queuedAt = new Date(this.#deps.now()).toISOString();
    const outcomes = await mapLimit(todo, FAN_OUT_CONCURRENCY, (d) => this.#deliver(providerId, item, d.clientId, queuedAt));
    const filtered = outcomes.filter((o) => o === 'filtered').length;
    const refused = outcomes.filter((o) => o === 'unauthorized').length;
    const queued = matching.length - (pending.length - todo.length) - refused - filtered;

    const done = !page.more;
    const last = page.items.at(-1)?.sk;
    const saved = await this.#saveProgress(item, {
      set: {
        ...(done || last === undefined ? {} : { cursor: last }),
        state: done ? 'issued' : 'fanning_out',
      },
      add: { queued, skipped: page.items.length - queued - filtered, ...(filtered > 0 ? { filtered } : {}) },
      remove: done ? ['cursor'] : [],
    });
    if (saved) return saved;

    // Lost the race. If the revision it fanned out is no longer current, take back what it queued.
    const fresh = await this.read(providerId, item.notificationId);
    if (fresh && (fresh.revision !== item.revision || fresh.state === 'withdrawn')) {
      await mapLimit(todo, FAN_OUT_CONCURRENCY, (d) =>
        this.#deps.notifierQueue.withdraw(d.clientId, item.jti, receiptOf, this.#deps.now()),
      );
    }
    return undefined;
  }

  /**
   * Signs this revision's SET for one destination, queues it (idempotent on the jti) while the
   * recipient authorizes the provider, and records the receipt. 'unauthorized' when the
   * authorization is gone. A destination whose SSF stream does not take the SET (an event type it
   * did not request, a disabled or deleted stream, a SET outside the SSF profile) is 'filtered':
   * nothing is queued and no receipt is written, so its status never reads as delivered, and the
   * fan-out goes on.
   */
  async #deliver(providerId: string, item: NotificationItem, clientId: string, queuedAt: string): Promise<EnqueueOutcome> {
    // Who sent it, inside the signature: every provider's SETs share the deployment's iss and key.
    const claims = { ...setClaims({ iss: this.#deps.issuer, iat: item.iat, jti: item.jti, aud: clientId }, item.claims), [SET_PROVIDER_CLAIM]: providerId };
    const set = await this.#deps.signer.sign(claims);
    const expiresAt = item.iat + item.ttlSeconds;
    const origin = { providerId, notificationId: item.notificationId };
    const outcome = await this.#deps.queue.enqueue(clientId, { jti: item.jti, set, ttl: expiresAt, origin }).catch((error: unknown) => {
      if (error instanceof StreamProfileViolation) return 'filtered' as const;
      throw error;
    });
    if (outcome !== 'queued' && outcome !== 'duplicate') return outcome;
    // Before the receipt, which marks this destination done: a retried page then records both.
    await this.#deps.inbox.record({ clientId, jti: item.jti, providerId, notificationId: item.notificationId, revision: item.revision, queuedAt, expiresAt });
    await this.#deps.receipts.record(providerId, item.notificationId, { clientId, jti: item.jti, revision: item.revision, queuedAt, expiresAt });
    return outcome;
  }

  /** One page of the withdrawal sweep over the notification's receipts. */
  async #sweepPage(providerId: string, item: NotificationItem): Promise<NotificationItem | undefined> {
    const page = await this.#deps.receipts.pageAfter(providerId, item.notificationId, item.sweepCursor, this.#deps.pageSize);
    const receiptOf = { providerId, notificationId: item.notificationId };
    // Withdrawn: every revision's SETs. Replaced: those of the revisions before the current one.
    const targets = page.items.filter((r) => r.withdrawn !== true && (item.state === 'withdrawn' || Number(r.revision) < item.revision));
    const outcomes: WithdrawOutcome[] = await mapLimit(targets, FAN_OUT_CONCURRENCY, (r) =>
      this.#deps.notifierQueue.withdraw(r.clientId, r.jti, receiptOf, this.#deps.now()),
    );
    const done = !page.more;
    return this.#saveProgress(item, {
      set: done || page.lastSk === undefined ? {} : { sweepCursor: page.lastSk },
      add: { withdrawnSets: outcomes.filter((o) => o === 'withdrawn').length },
      remove: done ? ['sweeping', 'sweepCursor'] : [],
    });
  }

  /**
   * Saves progress, conditional on the version and step this continuation read. Undefined when
   * the condition failed: a replace, a withdraw or another continuation got there first.
   */
  #saveProgress(item: NotificationItem, change: ProgressChange): Promise<NotificationItem | undefined> {
    return this.#deps.notificationStore.saveProgress(item, change, new Date(this.#deps.now()).toISOString());
  }
}
