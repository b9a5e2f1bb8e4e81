const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/**
 * When a SET was made, from its jti when that is a UUIDv7 (RFC 9562 §5.7: the first 48 bits are Unix
 * milliseconds), as setpoll's own jtis are. Undefined for any other jti: a producer-chosen jti says
 * nothing about time, and storing an enqueue time on every item would cost bytes on every read.
 */
export function jtiCreatedAt(jti: string): number | undefined {
  if (!UUIDV7.test(jti)) return undefined;
  return Number.parseInt(jti.slice(0, 8) + jti.slice(9, 13), 16);
}
