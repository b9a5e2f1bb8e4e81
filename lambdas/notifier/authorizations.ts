import { CLIENT_ID_RULE, isClientId } from '../shared/client-id.ts';
import { InvalidRequest, NotFound } from '../core/errors.ts';
import type { Authorization, AuthorizationStore, GrantedBy } from '../store/authorization-store.ts';
import { InvalidCursor } from '../store/store-errors.ts';
import { checkLimit } from './validation.ts';

/** An authorization as the API shows it. */
export interface AuthorizationView {
  readonly providerId: string;
  readonly grantedBy: GrantedBy;
  readonly authorizedAt: string;
}

/** Takes a provider's undelivered SETs out of a recipient's queue; answers how many it took. */
export type ProviderSetsWithdrawal = (recipientId: string, providerId: string) => Promise<number>;

export interface AuthorizationServiceOptions {
  readonly store: AuthorizationStore;
  /** Run when an authorization is removed. @default none (nothing is withdrawn) */
  readonly withdraw?: ProviderSetsWithdrawal;
}

const view = (a: Authorization): AuthorizationView => ({ providerId: a.providerId, grantedBy: a.grantedBy, authorizedAt: new Date(a.authorizedAt).toISOString() });

/**
 * A recipient's consent to Data Providers (the recipient-facing API; the operator's CLI uses the
 * store and the same withdrawal). The recipient id is always the authenticated caller's.
 */
export class AuthorizationService {
  readonly #store: AuthorizationStore;
  readonly #withdraw: ProviderSetsWithdrawal | undefined;

  constructor(options: AuthorizationServiceOptions) {
    this.#store = options.store;
    this.#withdraw = options.withdraw;
  }

  async list(recipientId: string, page: { limit?: number; cursor?: string }): Promise<{ items: AuthorizationView[]; nextCursor?: string }> {
    const found = await this.#store
      .listProviders(recipientId, { limit: checkLimit(page.limit), ...(page.cursor === undefined ? {} : { cursor: page.cursor }) })
      .catch((error: unknown) => {
        throw error instanceof InvalidCursor ? new InvalidRequest(error.message, { cause: error }) : error;
      });
    return { items: found.items.map(view), ...(found.nextCursor ? { nextCursor: found.nextCursor } : {}) };
  }

  async authorize(recipientId: string, providerId: string, grantedBy: GrantedBy): Promise<{ created: boolean; authorization: AuthorizationView }> {
    checkProviderId(providerId);
    const { outcome, authorization } = await this.#store.authorize(recipientId, providerId, grantedBy);
    return { created: outcome === 'created', authorization: view(authorization) };
  }

  /** Removes the authorization, then (when a withdrawal is given) the provider's undelivered SETs leave the queue. */
  async deauthorize(recipientId: string, providerId: string): Promise<{ withdrawn: number }> {
    checkProviderId(providerId);
    const removed = await this.#store.deauthorize(recipientId, providerId);
    // Withdrawn even when there was no record: a retry after a failed withdrawal completes it.
    const withdrawn = this.#withdraw ? await this.#withdraw(recipientId, providerId) : 0;
    if (!removed && withdrawn === 0) throw new NotFound(`${providerId} is not authorized to notify this recipient`);
    return { withdrawn };
  }
}

function checkProviderId(providerId: string): void {
  if (!isClientId(providerId)) throw new InvalidRequest(`providerId must be ${CLIENT_ID_RULE}`);
}
