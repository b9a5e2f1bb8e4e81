import { Conflict, InvalidRequest, NotFound, ServiceUnavailable } from '../core/errors.ts';
import { InvalidCursor, ItemExists, ItemMissing, LimitReached, StoreUnavailable, VersionConflict, WriteContended } from '../store/store-errors.ts';

/** What a storage error was about, for the protocol error's message. */
export interface Subject {
  readonly kind: 'destination' | 'notification';
  readonly id: string;
  /** The version the caller expected, named in a 409 for a stale one. */
  readonly expected?: number | undefined;
}

export const missing = (kind: Subject['kind'], id: string, options?: ErrorOptions) => new NotFound(`No ${kind} ${id}`, options);
export const stale = (kind: Subject['kind'], id: string, current: number, expected: number | undefined, options?: ErrorOptions) =>
  new Conflict(`The ${kind} ${id} is at version ${current}, not ${expected}; read it and retry`, options);

/**
 * Turns a store's StorageError into the protocol error the caller sees (404, 409, 400, 503); any
 * other error passes through unchanged.
 */
export function protocolError(error: unknown, subject: Subject): unknown {
  const { kind, id, expected } = subject;
  if (error instanceof ItemMissing) return missing(kind, id, { cause: error });
  if (error instanceof ItemExists) return new Conflict(`A ${kind} ${id} is already registered`, { cause: error });
  if (error instanceof VersionConflict) return stale(kind, id, error.current, expected, { cause: error });
  if (error instanceof WriteContended) return new Conflict(`The ${kind} ${id} was changed concurrently; read it and retry`, { cause: error });
  if (error instanceof InvalidCursor) return new InvalidRequest(error.message, { cause: error });
  if (error instanceof LimitReached) return new Conflict(`This Data Provider holds its limit of ${error.limit} ${kind}s: delete one first`, { cause: error });
  if (error instanceof StoreUnavailable) return new ServiceUnavailable(error.message, 1, { cause: error });
  return error;
}

/** Runs a store call, answering its storage errors with protocol errors about `subject`. */
export async function inProtocol<T>(subject: Subject, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw protocolError(error, subject);
  }
}
