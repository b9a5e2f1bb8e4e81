import { InvalidRequest, TooManyRequests } from '../core/errors.ts';
import type { ProviderQuotaStore } from '../store/provider-quota-store.ts';
import type { NotifierLimits } from './limits.ts';
import { inProtocol } from './storage-errors.ts';

const subject = { kind: 'notification', id: '' } as const;

/**
 * Whether a Data Provider may issue or replace notifications now: its rate per minute (429 with
 * Retry-After over it) and, for a bulk request, the SETs the request could make the deployment sign.
 */
export class NotificationAdmission {
  readonly #quota: ProviderQuotaStore;
  readonly #limits: NotifierLimits;
  readonly #now: () => number;

  constructor(quota: ProviderQuotaStore, limits: NotifierLimits, now: () => number) {
    this.#quota = quota;
    this.#limits = limits;
    this.#now = now;
  }

  /** Counts `count` notifications against the provider's rate: 429 with Retry-After over it. */
  async admit(providerId: string, count: number): Promise<void> {
    const perMinute = this.#limits.notificationsPerMinute;
    if (count > perMinute) throw new InvalidRequest(`A request may issue at most ${perMinute} notifications (the per-minute limit)`);
    const rate = await inProtocol(subject, () => this.#quota.countNotifications(providerId, count, perMinute, this.#now()));
    if (!rate.admitted) {
      throw new TooManyRequests(`This Data Provider may issue or replace ${perMinute} notifications a minute: retry in ${rate.retryAfterSeconds} s`, rate.retryAfterSeconds);
    }
  }

  /** The SETs-per-request limit (400: notifications × the provider's destinations), then the rate, for one bulk request. */
  async admitBulk(providerId: string, count: number): Promise<void> {
    const { maxSetsPerRequest } = this.#limits;
    const destinations = await inProtocol(subject, () => this.#quota.destinationCount(providerId));
    if (count * destinations > maxSetsPerRequest) {
      const most = Math.max(1, Math.floor(maxSetsPerRequest / Math.max(1, destinations)));
      throw new InvalidRequest(
        `This request could sign ${count * destinations} SETs (${count} notifications × ${destinations} destinations), over the limit of ${maxSetsPerRequest} per request: send at most ${most} notifications per request`,
      );
    }
    await this.admit(providerId, count);
  }
}
