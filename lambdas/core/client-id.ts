/**
 * The one rule for a client id (a recipient or a Data Provider), applied wherever an id is created
 * or named: printable ASCII without `#` (the table's key separator: `prov#N#x` would collide with
 * the keys of provider `prov`) or space, 1 to 128 characters.
 */
const CLIENT_ID = /^[\x21\x22\x24-\x7e]{1,128}$/;

export const CLIENT_ID_RULE = '1 to 128 printable ASCII characters without "#" or spaces';

export const isClientId = (value: unknown): value is string => typeof value === 'string' && CLIENT_ID.test(value);

/** A client id that breaks the rule, where one is being created (a storage-layer refusal). */
export class InvalidClientId extends Error {
  constructor(clientId: string) {
    super(`Client id ${JSON.stringify(clientId)} is not valid: a client id is ${CLIENT_ID_RULE}`);
    this.name = 'InvalidClientId';
  }
}
