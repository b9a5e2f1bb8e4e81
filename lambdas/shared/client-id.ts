/**
 * The one rule for a client id (a recipient or a Data Provider), applied wherever an id is created
 * or named: 1 to 128 printable ASCII characters without
 * - `#`: the table's key separator (`prov#N#x` would collide with the keys of provider `prov`);
 * - `/`, `?`, `%`: ids appear in paths (`/destinations/{clientId}`), and API Gateway hands the
 *   path to the function percent-DECODED and cut at a decoded `?` (local/payload-v2.ts), so an id
 *   holding them could not be addressed whatever the client encodes;
 * - space;
 * and not `.` or `..`, which URL clients resolve away as path segments even when encoded.
 */
const CLIENT_ID = /^[\x21\x22\x24\x26-\x2e\x30-\x3e\x40-\x7e]{1,128}$/;

export const CLIENT_ID_RULE = '1 to 128 printable ASCII characters without spaces or any of # / ? %, and not "." or ".."';

/** `.` and `..`: a path segment URL clients remove (WHATWG URL treats `%2e` as `.` too). */
export const isDotSegment = (value: string): boolean => value === '.' || value === '..';

export const isClientId = (value: unknown): value is string => typeof value === 'string' && CLIENT_ID.test(value) && !isDotSegment(value);

/** A client id that breaks the rule, where one is being created (a storage-layer refusal). */
export class InvalidClientId extends Error {
  constructor(clientId: string) {
    super(`Client id ${JSON.stringify(clientId)} is not valid: a client id is ${CLIENT_ID_RULE}`);
    this.name = 'InvalidClientId';
  }
}
