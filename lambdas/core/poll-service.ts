import { setTimeout as delay } from 'node:timers/promises';
import type { PollRequest } from './poll-request.ts';
import type { PollSettings } from './settings.ts';
import { LeaseConflict, type Lease, type QueueStore, type QueuedSet } from '../store/queue-store.ts';

/** What one poll did, for the response and for metrics. */
export interface PollOutcome {
  readonly sets: Record<string, string>;
  readonly moreAvailable: boolean;
  readonly stats: PollStats;
}

export interface PollStats {
  /** Acks that deleted a queued SET (unknown or repeated acks are silent successes and not counted). */
  acked: number;
  errored: number;
  delivered: number;
  failed: number;
  /** Lease conflicts with concurrent polls of the same recipient that were retried. */
  conflicts: number;
  /** Rounds a long poll spent waiting. */
  waits: number;
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
}

/** Lease conflicts retried before a short poll gives up with no SETs (and moreAvailable true). */
const MAX_CONFLICT_RETRIES = 8;
/** Long-poll re-reads back off from the first to the last delay: bounded cost, ~1 s wake-up. */
const LONG_POLL_DELAYS_MS = [100, 200, 400, 700, 1000];
/**
 * How close (ms) a lease record's `answeredAt` may come before this poll's queue read started and
 * still be treated as possibly later than it: covers clock skew between handler instances.
 */
const ANSWERED_SKEW_MS = 10;
/** Pages read in one selection before answering with what was found. */
const MAX_PAGES = 10;

interface Selection {
  readonly picked: QueuedSet[];
  readonly moreAvailable: boolean;
  readonly exhausted: QueuedSet[];
  readonly expired: QueuedSet[];
}

/**
 * The RFC 8936 §2 poll, over a QueueStore.
 *
 * Leases cost one write per poll, not one per SET: a recipient's delivered-but-unacked SETs are
 * listed in a single lease record, written with a version condition. Two concurrent polls of one
 * recipient cannot both lease a SET: the second write fails its condition and selects again.
 *
 * A poll takes two sequential round trips: (ack deletes ‖ lease read ‖ queue read), then the lease
 * write. Acked jtis are excluded from the selection, so the order of work is as if acks were
 * applied first.
 */
export class PollService {
  readonly #store: QueueStore;
  readonly #settings: PollSettings;
  readonly #now: () => number;

  constructor(options: PollServiceOptions) {
    this.#store = options.store;
    this.#settings = options.settings;
    this.#now = options.now ?? Date.now;
  }

  async poll(clientId: string, request: PollRequest, context: PollContext = {}): Promise<PollOutcome> {
    const stats: PollStats = { acked: 0, errored: 0, delivered: 0, failed: 0, conflicts: 0, waits: 0 };
    const limit = Math.min(request.maxEvents ?? this.#settings.maxEvents, this.#settings.maxEvents);
    const excluded = new Set<string>([...request.ack, ...request.setErrs.keys()]);
    const deadline = this.#now() + this.#settings.longPollSeconds * 1000;
    let pendingAcks = request.ack.length > 0 || request.setErrs.size > 0;
    let conflictsInRow = 0;
    // Set when this poll's queue read may predate an ack by another request (see below).
    let readInOrder = false;

    for (;;) {
      // Acks need no read first (the key is the jti), so they run beside the reads.
      const acking = pendingAcks ? this.#applyAcks(clientId, request, context, this.#now(), stats) : undefined;
      // Handled here so a failure while the reads still run is never an unhandled rejection;
      // it is still awaited (and rethrown) below.
      acking?.catch(() => undefined);
      pendingAcks = false;
      // After a lease conflict the cheap, eventually consistent lease read was stale: read strongly.
      let lease: Lease;
      let selection: Selection;
      const now = this.#now();
      try {
        // Fast path: lease and queue read side by side. In order (lease first, then a strongly
        // consistent queue read) when the fast path may have raced an ack: see the check below.
        const [read, firstPage] = readInOrder
          ? await this.#store.readLease(clientId, true).then(async (l) => [l, await this.#store.readQueue(clientId, limit + 1 + excluded.size, undefined, true)] as const)
          : await Promise.all([
              this.#store.readLease(clientId, conflictsInRow > 0),
              this.#store.readQueue(clientId, limit + 1 + excluded.size),
            ]);
        lease = read;
        selection = await this.#select(clientId, lease, firstPage.items, firstPage.next, excluded, limit, now);
      } catch (error) {
        // Let the acks finish (or fail) before answering, so a retry sees their effect.
        await acking?.catch(() => undefined);
        throw error;
      }

      // Another request's ack deletes its SETs, then drops them from the lease record. If that
      // happened while this poll's reads ran side by side, the queue read may still show a deleted
      // SET that the lease record no longer withholds: read again, in order.
      if (!readInOrder && selection.picked.length > 0 && lease.answeredAt >= now - ANSWERED_SKEW_MS) {
        readInOrder = true;
        await acking?.catch(() => undefined);
        if (acking) await acking;
        continue;
      }
      readInOrder = false;

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
      let leased = selection.picked.length === 0 && !answersListed;
      if (!leased) {
        writes.push(
          this.#lease(clientId, lease, selection.picked, excluded, now).then(
            () => void (leased = true),
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
          await delay(5 + Math.random() * 20 * conflictsInRow);
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
      const done =
        selection.picked.length > 0 ||
        request.returnImmediately ||
        // An ack-only long poll still waits until a SET is ready (RFC 8936 §2.4.2), then returns none.
        (limit === 0 && selection.moreAvailable) ||
        context.signal?.aborted === true;
      const wait = LONG_POLL_DELAYS_MS[Math.min(stats.waits, LONG_POLL_DELAYS_MS.length - 1)]!;
      if (done || this.#now() + wait >= deadline) {
        // fromEntries defines own properties, so a jti such as `__proto__` is a member like any other.
        const sets: Record<string, string> = Object.fromEntries(selection.picked.map((item) => [item.jti, item.set]));
        return { sets, moreAvailable: selection.moreAvailable, stats };
      }
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
    let moreAvailable = false;
    let items = firstItems;
    let next = firstNext;

    for (let page = 1; ; page++) {
      for (const item of items) {
        if (excluded.has(item.jti)) continue;
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
        if (picked.length >= room || bytes + size > maxResponseBytes) {
          moreAvailable = true;
          break;
        }
        picked.push(item);
        bytes += size;
      }
      if (moreAvailable || next === undefined) break;
      if (page >= MAX_PAGES) {
        // The rest of the queue is unread: say so rather than claim it is empty.
        moreAvailable = true;
        break;
      }
      const more = await this.#store.readQueue(clientId, Math.max(limit + 1, 25), next);
      items = more.items;
      next = more.next;
    }
    return { picked, moreAvailable, exhausted, expired };
  }

  async #lease(clientId: string, lease: Lease, picked: readonly QueuedSet[], answered: ReadonlySet<string>, now: number): Promise<void> {
    const until = now + this.#settings.leaseSeconds * 1000;
    const entries = new Map<string, number>();
    // Run-out leases are dropped (their SETs are deliverable again), and so are the SETs this
    // request acked or reported: the record only lists what is still in flight.
    let removedAnswers = false;
    for (const [jti, held] of lease.entries) {
      if (held <= now) continue;
      if (answered.has(jti)) removedAnswers = true;
      else entries.set(jti, held);
    }
    for (const item of picked) entries.set(item.jti, until);
    await this.#store.writeLease(clientId, lease.version, entries, removedAnswers ? this.#now() : lease.answeredAt);
  }

  /** Acks are conditional deletes in the caller's own queue; unknown jtis are silent successes. */
  async #applyAcks(clientId: string, request: PollRequest, context: PollContext, now: number, stats: PollStats): Promise<void> {
    const errWrites = [...request.setErrs].map(async ([jti, error]) => {
      const report = { ...error, ...(context.lang ? { lang: context.lang } : {}) };
      if (await this.#store.recordError(clientId, jti, report, now)) stats.errored++;
    });
    await settleAll([this.#store.deleteSets(clientId, request.ack).then((n) => void (stats.acked = n)), ...errWrites]);
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
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
