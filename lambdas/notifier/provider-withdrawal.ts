import type { NotifierQueue } from '../store/notifier-queue.ts';
import type { ProviderSetsWithdrawal } from './authorizations.ts';

/**
 * The withdrawal a deauthorization runs: every undelivered SET of the provider leaves the
 * recipient's queue (its receipt says `withdrawn`); SETs already delivered stay, as for a withdrawn
 * notification. One at a time: each withdrawal bumps the recipient's lease record, so concurrent
 * ones would only cancel each other's transactions. A queue too long for one call is finished by
 * calling again (deauthorizing an absent authorization still withdraws).
 */
export function providerSetsWithdrawal(queue: NotifierQueue, now: () => number = Date.now): ProviderSetsWithdrawal {
  return async (recipientId, providerId) => {
    let withdrawn = 0;
    for await (const page of queue.providerSets(recipientId, providerId)) {
      for (const { jti, notificationId } of page) {
        const receipt = notificationId === undefined ? undefined : { providerId, notificationId };
        if ((await queue.withdraw(recipientId, jti, receipt, now())) === 'withdrawn') withdrawn++;
      }
    }
    return withdrawn;
  };
}
