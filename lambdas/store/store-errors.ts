/**
 * What a store reports when it cannot do what was asked: storage facts, not protocol answers. The
 * services (lambdas/notifier/) turn them into the protocol's errors (404, 409, 400, 503), so the
 * store layer knows nothing of HTTP and imports nothing from lambdas/core.
 */
export abstract class StorageError extends Error {
  abstract override readonly name: string;
}

/** The item a write was conditional on does not exist. */
export class ItemMissing extends StorageError {
  override readonly name = 'ItemMissing';
}

/** An item with this key exists already (a create that must not overwrite). */
export class ItemExists extends StorageError {
  override readonly name = 'ItemExists';
}

/** The item's version is not the one the write expected: `current` is what is stored. */
export class VersionConflict extends StorageError {
  override readonly name = 'VersionConflict';
  readonly current: number;
  constructor(message: string, current: number, options?: ErrorOptions) {
    super(message, options);
    this.current = current;
  }
}

/** A page cursor that this store did not make for this listing (tampered, truncated, foreign). */
export class InvalidCursor extends StorageError {
  override readonly name = 'InvalidCursor';
}

/** The table was throttled, busy or unavailable after the store's own retries: retry later. */
export class StoreUnavailable extends StorageError {
  override readonly name = 'StoreUnavailable';
}

/** A count the write would raise is at its limit (`limit`): nothing was written. */
export class LimitReached extends StorageError {
  override readonly name = 'LimitReached';
  readonly limit: number;
  constructor(message: string, limit: number, options?: ErrorOptions) {
    super(message, options);
    this.limit = limit;
  }
}

/** Another writer changed the item while a transaction ran: read it again and retry. */
export class WriteContended extends StorageError {
  override readonly name = 'WriteContended';
}

/** An atomic batch was not applied; `reasons` says why per write index (absent: not the cause). */
export class TransactionRefused extends StorageError {
  override readonly name = 'TransactionRefused';
  readonly reasons: ReadonlyMap<number, StorageError>;
  constructor(message: string, reasons: ReadonlyMap<number, StorageError>, options?: ErrorOptions) {
    super(message, options);
    this.reasons = reasons;
  }
}
