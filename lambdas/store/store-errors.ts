/**
 * What a store reports when it cannot do what was asked: storage facts, not protocol answers. The
 * services (lambdas/notifier/) turn them into the protocol's errors (404, 409, 400, 503), so the
 * store layer knows nothing of HTTP and imports nothing from lambdas/core.
 */
export abstract class StorageError extends Error {
  abstract override readonly name: string;
}

/**
 * The base of one storage error class: its literal `name`, which minification leaves alone
 * (test/contract/bundle-names.test.ts). Each exported class extends one, so it stays a class of its
 * own for `instanceof`. The annotation tells esbuild a call has no side effects, so a bundle still
 * drops the classes it does not use.
 */
/* @__NO_SIDE_EFFECTS__ */
function storageError<const Name extends string>(name: Name) {
  abstract class NamedStorageError extends StorageError {
    override readonly name = name;
  }
  return NamedStorageError;
}

/**
 * The base of a storage error class that also carries a stable `code` (`certificate_in_use`), for
 * the operators' tools and logs that name an error by it.
 */
/* @__NO_SIDE_EFFECTS__ */
export function codedStorageError<const Name extends string, const Code extends string>(name: Name, code: Code) {
  abstract class CodedStorageError extends storageError(name) {
    readonly code = code;
  }
  return CodedStorageError;
}

/** The item a write was conditional on does not exist. */
export class ItemMissing extends storageError('ItemMissing') {}

/** An item with this key exists already (a create that must not overwrite). */
export class ItemExists extends storageError('ItemExists') {}

/** A page cursor that this store did not make for this listing (tampered, truncated, foreign). */
export class InvalidCursor extends storageError('InvalidCursor') {}

/** The table was throttled, busy or unavailable after the store's own retries: retry later. */
export class StoreUnavailable extends storageError('StoreUnavailable') {}

/** Another writer changed the item while a transaction ran: read it again and retry. */
export class WriteContended extends storageError('WriteContended') {}

// Errors that carry what the store found, besides the message.

/** The item's version is not the one the write expected: `current` is what is stored. */
export class VersionConflict extends storageError('VersionConflict') {
  readonly current: number;
  constructor(message: string, current: number, options?: ErrorOptions) {
    super(message, options);
    this.current = current;
  }
}

/** A count the write would raise is at its limit (`limit`): nothing was written. */
export class LimitReached extends storageError('LimitReached') {
  readonly limit: number;
  constructor(message: string, limit: number, options?: ErrorOptions) {
    super(message, options);
    this.limit = limit;
  }
}

/** An atomic batch was not applied; `reasons` says why per write index (absent: not the cause). */
export class TransactionRefused extends storageError('TransactionRefused') {
  readonly reasons: ReadonlyMap<number, StorageError>;
  constructor(message: string, reasons: ReadonlyMap<number, StorageError>, options?: ErrorOptions) {
    super(message, options);
    this.reasons = reasons;
  }
}
