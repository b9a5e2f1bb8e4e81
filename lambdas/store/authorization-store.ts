/**
 * Which Data Providers may notify which recipients (the port; DynamoAuthorizationStore is the
 * adapter). The operator creates and removes records with `setpoll recipients authorize` /
 * `deauthorize`; a recipient does so for itself through the management API (scope
 * `notifications:recipient`). Destination registration and every fan-out page consult it.
 */

/** Who made the record: the deployment's operator (CLI) or the recipient itself (API). */
export type GrantedBy = 'operator' | 'recipient';

export interface Authorization {
  readonly recipientId: string;
  readonly providerId: string;
  readonly grantedBy: GrantedBy;
  /** When it was made, epoch ms. */
  readonly authorizedAt: number;
}

export interface AuthorizationPage {
  readonly items: readonly Authorization[];
  /** Present exactly when more follow. */
  readonly nextCursor?: string;
}

export interface AuthorizationStore {
  /** Records that `providerId` may notify `recipientId`; an existing record is kept as it is ('unchanged'). */
  authorize(recipientId: string, providerId: string, grantedBy: GrantedBy, now?: number): Promise<{ outcome: 'created' | 'unchanged'; authorization: Authorization }>;
  /** Removes the record; false when there was none. */
  deauthorize(recipientId: string, providerId: string): Promise<boolean>;
  /** One strongly consistent read: a removal applies to the very next check. */
  isAuthorized(recipientId: string, providerId: string): Promise<boolean>;
  /** Of `recipientIds`, those that have authorized `providerId`; strongly consistent reads, batched. */
  authorizedAmong(providerId: string, recipientIds: readonly string[]): Promise<Set<string>>;
  /** The providers `recipientId` has authorized, in providerId order; `cursor` is a previous page's nextCursor. */
  listProviders(recipientId: string, page: { readonly limit: number; readonly cursor?: string }): Promise<AuthorizationPage>;
}
