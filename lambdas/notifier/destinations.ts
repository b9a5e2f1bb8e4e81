import { InvalidRequest } from '../core/errors.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';
import type { AuthorizationStore } from '../store/authorization-store.ts';
import type { DestinationStore } from '../store/destination-store.ts';
import type { ProviderQuotaStore } from '../store/provider-quota-store.ts';
import { resolveLimits, type NotifierLimits } from './limits.ts';
import { bulkAtomic, bulkEach, type BulkTarget } from './destination-bulk.ts';
import { parseEventTypesUpdate, parseOperations, parseRegister, updateBody, type ParsedOperation, type ParsedRegister } from './destination-input.ts';
import {
  newDestinationItem,
  notAuthorized,
  toDestination,
  type BulkOperation,
  type BulkResult,
  type Destination,
  type ListOptions,
  type Page,
  type RegisterDestinationInput,
  type UpdateDestinationInput,
} from './destination-types.ts';
import { inProtocol, missing } from './storage-errors.ts';
import { assertProviderId, checkClientId, checkExpectedVersion, checkLimit, isObject } from './validation.ts';

export * from './destination-types.ts';

export interface DestinationServiceOptions {
  readonly store: DestinationStore;
  /** Recipients' consent: a destination is registered only for a recipient that authorizes the provider. */
  readonly authorizations: AuthorizationStore;
  /** Each provider's destination count, held under `limits.maxDestinations`. */
  readonly quota: ProviderQuotaStore;
  /** @default the contract's NOTIFIER_LIMIT_DEFAULTS */
  readonly limits?: Partial<NotifierLimits>;
  /** Epoch ms. */
  readonly now?: () => number;
}

const subject = (id: string, expected?: number) => ({ kind: 'destination', id, expected }) as const;


/**
 * Notification destination lists, one per Data Provider. Every key starts with the caller's
 * provider id, so a provider can neither read nor change another's destinations, and asking for
 * one that belongs to someone else is indistinguishable from asking for one that does not exist (404).
 */
export class DestinationService {
  readonly #store: DestinationStore;
  readonly #authorizations: AuthorizationStore;
  readonly #quota: ProviderQuotaStore;
  readonly #limits: NotifierLimits;
  readonly #now: () => number;
  readonly #bulk: BulkTarget;

  constructor(options: DestinationServiceOptions) {
    if (!options.store || !options.authorizations || !options.quota) throw new ProgrammerError('store, authorizations and quota are required');
    this.#store = options.store;
    this.#authorizations = options.authorizations;
    this.#quota = options.quota;
    this.#limits = resolveLimits(options.limits);
    this.#now = options.now ?? Date.now;
    this.#bulk = {
      store: this.#store,
      now: this.#now,
      authorizedAmong: (providerId, clientIds) => inProtocol(subject(''), () => this.#authorizations.authorizedAmong(providerId, clientIds)),
      reserve: (providerId, count) => inProtocol(subject(''), () => this.#quota.reserveDestinations(providerId, count, this.#limits.maxDestinations)),
      release: (providerId, count) => this.#release(providerId, count),
      apply: (providerId, op) => this.#apply(providerId, op),
    };
  }

  /**
   * 403 AccessDenied (notAuthorized) unless the recipient authorizes the provider; 409 Conflict when
   * the provider already has a destination with this clientId, or holds limits.maxDestinations.
   */
  async register(providerId: string, input: RegisterDestinationInput): Promise<Destination> {
    assertProviderId(providerId);
    return this.#register(providerId, parseRegister(input));
  }

  /** 404 when missing; 409 when `expectedVersion` is given and is not the current version. */
  async update(providerId: string, clientId: string, input: UpdateDestinationInput, expectedVersion?: number): Promise<Destination> {
    assertProviderId(providerId);
    const body = updateBody(input);
    return this.#update(providerId, checkClientId(clientId), parseEventTypesUpdate(body.eventTypes), checkExpectedVersion(expectedVersion));
  }

  /** 404 when missing; 409 when `expectedVersion` is given and is not the current version. */
  async delete(providerId: string, clientId: string, expectedVersion?: number): Promise<void> {
    assertProviderId(providerId);
    await this.#delete(providerId, checkClientId(clientId), checkExpectedVersion(expectedVersion));
  }

  async get(providerId: string, clientId: string): Promise<Destination> {
    assertProviderId(providerId);
    const id = checkClientId(clientId);
    const item = await inProtocol(subject(id), () => this.#store.get(providerId, id));
    if (!item) throw missing('destination', id);
    return toDestination(item);
  }

  /** In clientId order. Eventually consistent: a destination registered a moment ago may be missing. */
  async list(providerId: string, options: ListOptions = {}): Promise<Page<Destination>> {
    assertProviderId(providerId);
    const limit = checkLimit(options.limit);
    const page = await inProtocol(subject(''), () => this.#store.list(providerId, { limit, cursor: options.cursor }));
    return { items: page.items.map(toDestination), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
  }

  /**
   * The fan-out's read: destinations after the sort key `afterSk`, in order, strongly consistent
   * (a destination registered just before a notification is issued receives it).
   */
  async pageAfter(providerId: string, afterSk: string | undefined, limit: number): Promise<{ items: (Destination & { sk: string })[]; more: boolean }> {
    assertProviderId(providerId);
    const page = await inProtocol(subject(''), () => this.#store.pageAfter(providerId, afterSk, limit));
    return { items: page.items.map((item) => ({ ...toDestination(item), sk: item.sk })), more: page.more };
  }

  /**
   * Up to limits.maxBulkItems register, update and delete operations (more, or none: 400).
   *
   * Non-atomic (default): every operation is attempted and answered on its own; the call throws only
   * for a malformed request. Operations on the same clientId run in the order given. A dependency
   * failure on one operation is reported on that item as 503 (it may or may not have been applied),
   * so the caller knows exactly which items took effect.
   *
   * Atomic: one DynamoDB transaction; either every operation is applied or none is (`applied`).
   * When one fails, its result says why (400, 404, 409) and the others answer 424. A clientId may
   * appear only once in an atomic batch (DynamoDB cannot touch one item twice in a transaction).
   */
  async bulk(providerId: string, operations: readonly BulkOperation[], options: { atomic?: boolean } = {}): Promise<BulkResult> {
    assertProviderId(providerId);
    const max = this.#limits.maxBulkItems;
    if (!Array.isArray(operations) || operations.length < 1 || operations.length > max) throw new InvalidRequest(`A bulk request holds 1 to ${max} operations`);
    const parsed = parseOperations(operations);
    const clientIds = operations.map((raw: unknown) => (isObject(raw) && typeof raw.clientId === 'string' ? raw.clientId : ''));
    const atomic = options.atomic === true;
    const results = atomic ? await bulkAtomic(this.#bulk, providerId, parsed, clientIds) : await bulkEach(this.#bulk, providerId, parsed, clientIds);
    const succeeded = results.filter((r) => r.ok).length;
    return {
      atomic,
      applied: atomic ? succeeded === results.length : succeeded > 0,
      results,
      totals: { succeeded, failed: results.length - succeeded },
    };
  }

  async #register(providerId: string, op: ParsedRegister): Promise<Destination> {
    if (!(await inProtocol(subject(op.clientId), () => this.#authorizations.isAuthorized(op.clientId, providerId)))) throw notAuthorized();
    const item = newDestinationItem(providerId, op.clientId, op.eventTypes, new Date(this.#now()).toISOString());
    await inProtocol(subject(op.clientId), () => this.#quota.reserveDestinations(providerId, 1, this.#limits.maxDestinations));
    try {
      await inProtocol(subject(op.clientId), () => this.#store.create(item));
    } catch (error) {
      await this.#release(providerId, 1);
      throw error;
    }
    return toDestination(item);
  }

  async #update(providerId: string, clientId: string, eventTypes: string[] | null, expectedVersion: number | undefined): Promise<Destination> {
    const at = new Date(this.#now()).toISOString();
    const item = await inProtocol(subject(clientId, expectedVersion), () => this.#store.updateEventTypes(providerId, clientId, { eventTypes, expectedVersion, at }));
    return toDestination(item);
  }

  async #delete(providerId: string, clientId: string, expectedVersion: number | undefined): Promise<void> {
    await inProtocol(subject(clientId, expectedVersion), () => this.#store.delete(providerId, clientId, expectedVersion));
    await this.#release(providerId, 1);
  }

  /**
   * Gives back counted destinations. A failure leaves the count too high, which only makes the
   * limit stricter: the change itself stands, so it is not reported.
   */
  async #release(providerId: string, count: number): Promise<void> {
    await this.#quota.releaseDestinations(providerId, count).catch(() => undefined);
  }

  async #apply(providerId: string, op: ParsedOperation): Promise<{ status: 200 | 201 | 204; destination?: Destination }> {
    switch (op.op) {
      case 'register':
        return { status: 201, destination: await this.#register(providerId, op) };
      case 'update':
        return { status: 200, destination: await this.#update(providerId, op.clientId, op.eventTypes, op.expectedVersion) };
      case 'delete':
        await this.#delete(providerId, op.clientId, op.expectedVersion);
        return { status: 204 };
    }
  }
}
