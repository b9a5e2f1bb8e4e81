/**
 * What each Data Provider has used of its limits (the port; DynamoProviderQuotaStore is the
 * adapter): how many destinations it holds, and how many notifications it issued this minute.
 * Raises StorageErrors only (store-errors.ts).
 */
export interface ProviderQuotaStore {
  /** Counts `count` more destinations; LimitReached (nothing counted) when that would pass `max`. */
  reserveDestinations(providerId: string, count: number, max: number): Promise<void>;
  /** Counts `count` destinations fewer (after a delete, or a reservation that was not used). */
  releaseDestinations(providerId: string, count: number): Promise<void>;
  /** How many destinations the provider holds, as counted. Strongly consistent. */
  destinationCount(providerId: string): Promise<number>;
  /**
   * Counts `count` notifications in the minute of `nowMs`, unless that would pass `perMinute`:
   * then nothing is counted and the answer says how many seconds are left of the minute.
   */
  countNotifications(providerId: string, count: number, perMinute: number, nowMs: number): Promise<{ readonly admitted: true } | { readonly admitted: false; readonly retryAfterSeconds: number }>;
}
