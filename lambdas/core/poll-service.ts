import { setTimeout as delay } from 'node:timers/promises';
import type { PollRequest } from './poll-request.ts';
import type { PollSettings } from './settings.ts';
import { LeaseConflict, type DeliveryGate, type Lease, type QueueStore, type QueuedSet } from '../store/queue-store.ts';
import { jtiCreatedAt } from '../store/set-age.ts';
import { pauseBeforeRetry, settleAll } from '../shared/helpers.ts';

/** What one poll did, for the response and for metrics. */
export interface PollOutcome {
  readonly sets: Record<string, string>;
  readonly moreAvailable: boolean;
  readonly stats: PollStats;
}

export interface PollStats {
  /**
   * Acks that deleted a queued SET, or the `failed` record of a SET that ran out of attempts before
   * its ack came (unknown or repeated acks are silent successes and not counted).
   */
  acked: number;
  errored: number;
  delivered: number;
  /**
   * Of `delivered`, SETs delivered before: their lease had run out without an ack (a lower bound:
   * a run-out lease is forgotten once another poll rewrites the record), or attempts were counted.
   */
  redelivered: number;
  /**
   * Of `redelivered`, SETs whose previous delivery answered a request that carried `ack` or
   * `setErrs` and that were never acknowledged: the sign of a receiver that sends acks without
   * `maxEvents: 0` and ignores the SETs that come back (a lower bound, as `redelivered`).
   */
  redeliveredAfterAcks: number;
  /** Queued SETs found past their TTL, and deleted. */
  expired: number;
  failed: number;
  /** Lease conflicts with concurrent polls of the same recipient that were retried. */
  conflicts: number;
  /** Rounds a long poll spent waiting. */
  waits: number;
  /**
   * Age (ms) of the oldest SET at the head of the queue when this poll read it, leased or not; known
   * when its jti is a UUIDv7 (setpoll's own). A cheap sample of the recipient's backlog age.
   */
  oldestAgeMs?: number;
}

export interface PollContext {
  /** `Content-Language` of the request, stored with setErrs. */
  readonly lang?: string;
  /** Aborts a long poll early, e.g. when the client went away. */
  readonly signal?: AbortSignal;
}

export interface PollServiceOptions {
  readonly store: QueueStore;
  readonly settings: PollSettings;
  /** Epoch milliseconds; injectable so tests can move time. */
  readonly now?: () => number;
  /**
   * A monotonic clock in milliseconds for the long-poll deadline (a wall clock can step).
   * @default performance.now
   */
  readonly monotonic?: () => number;
}

/** Lease conflicts retried before a short poll gives up with no SETs (and moreAvailable true). */
const MAX_CONFLICT_RETRIES = 8;
/** Long-poll re-reads back off from the first to the last delay: bounded cost, ~1 s wake-up. */
const LONG_POLL_DELAYS_MS = [100, 200, 400, 700, 1000];
/** Pages read in one selection before answering with what was found. */
const MAX_PAGES = 10;

interface Selection {
  readonly picked: QueuedSet[];
  readonly moreAvailable: boolean;
  readonly exhausted: QueuedSet[];
  readonly expired: QueuedSet[];
  readonly redelivered: number;
  readonly redeliveredAfterAcks: number;
}

/**
 * The RFC 8936 §2 poll, over a QueueStore.
 *
 * Leases cost one write per poll, not one per SET: a recipient's delivered-but-unacked SETs are
 * listed in a single lease record, written with a version condition. Two concurrent polls of one
 * recipient cannot both lease a SET: the second write fails its condition and selects again.
 *
 * A poll takes two sequential round trips: (ack deletes ‖ one Query of the lease record and the
 * queue's head), then the lease write. Acked jtis are excluded from the selection, so the order of
 * work is as if acks were applied first.
 *
 * Why one Query and not a lease GetItem beside a queue Query: another request's ack deletes its SETs
 * and only then drops them from the lease record. Two separate reads can pair a queue page from
 * before that delete with a lease record from after it, and hand out a SET that was just acked. The
 * head Query reads the lease record first (it sorts first), so its view of the record is never newer
 * than its view of the SETs; it also costs one read-unit rounding instead of two. Later pages, rare,
 * are read strongly consistent for the same reason.
 */
export class PollService {
  readonly #store: QueueStore;
  readonly #settings: PollSettings;
  readonly #now: () => number;
  readonly #monotonic: () => number;

  constructor(options: PollServiceOptions) {
    this.#store = options.store;
    this.#settings = options.settings;
    this.#now = options.now ?? Date.now;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  async poll(clientId: string, request: PollRequest, context: PollContext = {}): Promise<PollOutcome> {
    const stats: PollStats = { acked: 0, errored: 0, delivered: 0, redelivered: 0, redeliveredAfterAcks: 0, expired: 0, failed: 0, conflicts: 0, waits: 0 };
    const limit = Math.min(request.maxEvents ?? this.#settings.maxEvents, this.#settings.maxEvents);
    const excluded = new Set<string>([...request.ack, ...request.setErrs.keys()]);
    const deadline = this.#monotonic() + this.#settings.longPollSeconds * 1000;
    let pendingAcks = request.ack.length > 0 || request.setErrs.size > 0;
    let conflictsInRow = 0;
    /** SETs reported in setErrs that stay queued (erroredSets `redeliver`): leased again, as if delivered. */
    const kept = new Set<string>();

    for (;;) {
      // Acks need no read first (the key is the jti), so they run beside the read.
      const acking = pendingAcks ? this.#applyAcks(clientId, request, context, this.#now(), stats, kept) : undefined;
      // Handled here so a failure while the read still runs is never an unhandled rejection;
      // it is still awaited (and rethrown) below.
      acking?.catch(() => undefined);
      pendingAcks = false;
      let lease: Lease;
      let selection: Selection;
      const now = this.#now();
      try {
        // After a lease conflict the cheap, eventually consistent read was stale: read strongly.
        const head = await this.#store.readHead(clientId, limit + 1 + excluded.size, conflictsInRow > 0);
        lease = head.lease;
        const created = head.page.items[0] ? jtiCreatedAt(head.page.items[0].jti) : undefined;
        if (created !== undefined) stats.oldestAgeMs = Math.max(0, now - created);
        selection = await this.#select(clientId, lease, head.page.items, head.page.next, excluded, limit, now, head.gate);
      } catch (error) {
        // Let the acks finish (or fail) before answering, so a retry sees their effect.
        await acking?.catch(() => undefined);
        throw error;
      }

      // The lease record may drop acked SETs only once their deletes took effect: a failed ack
      // leaves its SET leased, and a slow one cannot let another poll in early.
      if (acking) await acking;
      const writes: Promise<unknown>[] = [];
      if (selection.exhausted.length > 0) writes.push(this.#fail(clientId, selection.exhausted, now, stats));
      if (selection.expired.length > 0) writes.push(this.#store.deleteSets(clientId, selection.expired.map((i) => i.jti)));
      // The lease record is rewritten when this poll leases SETs, and also when it only answers
      // (acks or setErrs) SETs still listed there: otherwise ack-only polls would leave their jtis
      // counted against the in-flight cap until the leases ran out.
      const answersListed = [...excluded].some((jti) => (lease.entries.get(jti) ?? 0) > now);
      let leased = selection.picked.length === 0 && !answersListed && kept.size === 0;
      if (!leased) {
        writes.push(
          this.#lease(clientId, lease, selection.picked, excluded, kept, now, excluded.size > 0).then(
            () => {
              leased = true;
              // Leased once: later rounds of a long poll need not write the record for them again.
              kept.clear();
            },
            (error: unknown) => {
              if (!(error instanceof LeaseConflict)) throw error;
            },
          ),
        );
      }
      await settleAll(writes);

      if (!leased) {
        stats.conflicts++;
        conflictsInRow++;
        if (conflictsInRow <= MAX_CONFLICT_RETRIES) {
          await pauseBeforeRetry(conflictsInRow, 5);
          continue;
        }
        // Contention this high means other polls are draining the queue; let the caller come back.
        return { sets: {}, moreAvailable: true, stats };
      }
      conflictsInRow = 0;

      if (selection.picked.length > 0 && this.#settings.maxDeliveryAttempts > 0) {
        await this.#store.countAttempts(clientId, selection.picked.map((i) => i.jti));
      }
      stats.delivered = selection.picked.length;
      stats.redelivered = selection.redelivered;
      stats.redeliveredAfterAcks = selection.redeliveredAfterAcks;
      stats.expired += selection.expired.length;
      const done =
        selection.picked.length > 0 ||
        request.returnImmediately ||
        // An ack-only long poll still waits until a SET is ready (RFC 8936 §2.4.2), then returns none.
        (limit === 0 && selection.moreAvailable) ||
        context.signal?.aborted === true;
      // RFC 8936 §2.5: a long poll "SHALL delay responding until a SET is available or the timeout
      // interval has elapsed": never before the deadline. The last round sleeps out what is left
      // and reads once more at the deadline.
      const remaining = deadline - this.#monotonic();
      if (done || remaining <= 0) {
        // fromEntries defines own properties, so a jti such as `__proto__` is a member like any other.
        const sets: Record<string, string> = Object.fromEntries(selection.picked.map((item) => [item.jti, item.set]));
        return { sets, moreAvailable: selection.moreAvailable, stats };
      }
      const wait = Math.min(LONG_POLL_DELAYS_MS[Math.min(stats.waits, LONG_POLL_DELAYS_MS.length - 1)]!, Math.ceil(remaining));
      stats.waits++;
      await delay(wait, undefined, context.signal ? { signal: context.signal } : undefined).catch(() => undefined);
    }
  }

  /** Picks up to `limit` deliverable SETs, oldest first, and learns whether more remain. */
  async #select(
    clientId: string,
    lease: Lease,
    firstItems: readonly QueuedSet[],
    firstNext: Record<string, unknown> | undefined,
    excluded: ReadonlySet<string>,
    limit: number,
    now: number,
    gate?: DeliveryGate,
  ): Promise<Selection> {
    const { maxDeliveryAttempts, maxResponseBytes, maxInFlight } = this.#settings;
    const nowSeconds = Math.floor(now / 1000);
    let activeLeases = 0;
    for (const [jti, until] of lease.entries) if (until > now && !excluded.has(jti)) activeLeases++;
    const room = Math.max(0, Math.min(limit, maxInFlight - activeLeases));

    const picked: QueuedSet[] = [];
    const exhausted: QueuedSet[] = [];
    const expired: QueuedSet[] = [];
    let bytes = 0;
    let redelivered = 0;
    let redeliveredAfterAcks = 0;
    let moreAvailable = false;
    let held = false;
    let items = firstItems;
    let next = firstNext;

    for (let page = 1; ; page++) {
      for (const item of items) {
        if (excluded.has(item.jti)) continue;
        // A paused or disabled SSF stream holds its SETs from here on (jti order), and they are not
        // "available". The gate is re-read every long-poll round, so a re-enable is seen within a second.
        if (gate && (gate.after === undefined || item.jti > gate.after)) {
          held = true;
          break;
        }
        if (item.ttl <= nowSeconds) {
          expired.push(item);
          continue;
        }
        if ((lease.entries.get(item.jti) ?? 0) > now) continue;
        if (maxDeliveryAttempts > 0 && item.attempts >= maxDeliveryAttempts) {
          exhausted.push(item);
          continue;
        }
        const size = item.jti.length + item.set.length + 8;
        // The first SET goes out whatever its size (an item is at most DynamoDB's 400 KB, far under
        // Lambda's 6 MB): held back, it would block its queue for good behind moreAvailable true.
        if (picked.length >= room || (picked.length > 0 && bytes + size > maxResponseBytes)) {
          moreAvailable = true;
          break;
        }
        picked.push(item);
        if (lease.entries.has(item.jti) || item.attempts > 0) redelivered++;
        if (lease.withAcks.has(item.jti)) redeliveredAfterAcks++;
        bytes += size;
      }
      if (moreAvailable || held || next === undefined) break;
      if (page >= MAX_PAGES) {
        // The rest of the queue is unread: say so rather than claim it is empty.
        moreAvailable = true;
        break;
      }
      // Strongly consistent: a later page must not be older than the lease record read with the head.
      const more = await this.#store.readQueue(clientId, Math.max(limit + 1, 25), next, true);
      items = more.items;
      next = more.next;
    }
    return { picked, moreAvailable, exhausted, expired, redelivered, redeliveredAfterAcks };
  }

  async #lease(
    clientId: string,
    lease: Lease,
    picked: readonly QueuedSet[],
    answered: ReadonlySet<string>,
    kept: ReadonlySet<string>,
    now: number,
    carriedAcks: boolean,
  ): Promise<void> {
    const until = now + this.#settings.leaseSeconds * 1000;
    const entries = new Map<string, number>();
    const withAcks = new Set<string>();
    // Run-out leases are dropped (their SETs are deliverable again), and so are the SETs this
    // request acked or reported: the record only lists what is still in flight.
    for (const [jti, held] of lease.entries) {
      if (held <= now || answered.has(jti)) continue;
      entries.set(jti, held);
      if (lease.withAcks.has(jti)) withAcks.add(jti);
    }
    for (const item of picked) {
      entries.set(item.jti, until);
      if (carriedAcks) withAcks.add(item.jti);
      else withAcks.delete(item.jti);
    }
    // An errored SET that stays queued is withheld for a lease, like an unacknowledged one, then redelivered.
    for (const jti of kept) entries.set(jti, until);
    await this.#store.writeLease(clientId, lease.version, entries, withAcks);
  }

  /** Acks are conditional deletes in the caller's own queue; unknown jtis are silent successes. */
  async #applyAcks(clientId: string, request: PollRequest, context: PollContext, now: number, stats: PollStats, kept: Set<string>): Promise<void> {
    const redeliver = this.#settings.erroredSets === 'redeliver';
    const errWrites = [...request.setErrs].map(async ([jti, error]) => {
      const report = { ...error, ...(context.lang ? { lang: context.lang } : {}) };
      if (redeliver) {
        if (!(await this.#store.noteError(clientId, jti, report, now))) return;
        kept.add(jti);
      } else if (!(await this.#store.recordError(clientId, jti, report, now))) return;
      stats.errored++;
    });
    const acking = this.#store.acknowledge(clientId, request.ack).then((n) => void (stats.acked = n.queued + n.failed));
    await settleAll([acking, ...errWrites]);
  }

  async #fail(clientId: string, items: readonly QueuedSet[], now: number, stats: PollStats): Promise<void> {
    await settleAll(
      items.map(async (item) => {
        if (await this.#store.markFailed(clientId, item, now)) stats.failed++;
      }),
    );
  }
}

/** Like Promise.all, but waits for every write to finish before rethrowing the first failure. */
