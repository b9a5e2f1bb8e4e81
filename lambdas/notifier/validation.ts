import { NOTIFIER_LIMIT_DEFAULTS } from '../contract.ts';
import { CLIENT_ID_RULE, isClientId, isDotSegment } from '../shared/client-id.ts';
import { InvalidRequest } from '../core/errors.ts';
import { isObject } from '../shared/helpers.ts';
import { ProgrammerError } from '../shared/programmer-error.ts';
import type { NotificationClaims } from '../store/notifier-items.ts';

const NOTIFICATION_ID = /^[A-Za-z0-9._~:-]{1,128}$/;

export const MAX_EVENT_TYPES = 50;
export const MAX_URI_LENGTH = 256;
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 100;
/** The serialized claims of one notification (events, sub, sub_id, txn, toe), by default (NotifierLimits.maxClaimsBytes). */
export const MAX_CLAIMS_BYTES = NOTIFIER_LIMIT_DEFAULTS.maxClaimsBytes;
/** Nesting of arrays and objects in the claims, the claims object itself being 1. */
export const MAX_CLAIMS_DEPTH = 64;
/** A notification's SETs stay queued at most this long. */
export const MAX_TTL_SECONDS = 30 * 86_400;
const MAX_STRING_CLAIM = 256;

export { isObject } from '../shared/helpers.ts';

export const isProviderId = isClientId;

/** The provider id comes from the authenticated identity, never from input: a bad one is a programming error. */
export function assertProviderId(providerId: unknown): asserts providerId is string {
  if (!isProviderId(providerId)) throw new ProgrammerError(`providerId must be ${CLIENT_ID_RULE}`);
}

export function checkClientId(clientId: unknown): string {
  if (!isClientId(clientId)) {
    throw new InvalidRequest(`clientId must be ${CLIENT_ID_RULE}`);
  }
  return clientId;
}

export function checkNotificationId(id: unknown): string {
  // Not "." or "..": the id appears in a path (/notifications/{notificationId}), where URL clients resolve those away.
  if (typeof id !== 'string' || !NOTIFICATION_ID.test(id) || isDotSegment(id)) {
    throw new InvalidRequest('notificationId must be 1 to 128 characters of A-Z a-z 0-9 . _ ~ : -, and not "." or ".."');
  }
  return id;
}

export function isEventTypeUri(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= MAX_URI_LENGTH && parsesAsUrl(value);
}

/**
 * The WHATWG URL parser's verdict. Not `URL.canParse`: on Node 20 its optimised fast path refuses a
 * host such as `ü.example` that it accepted before V8 optimised the caller, so the same request's
 * answer would change over a process's life.
 */
function parsesAsUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** `eventTypes` of a destination: 1 to 50 unique absolute URIs. */
export function checkEventTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_EVENT_TYPES) {
    throw new InvalidRequest(`eventTypes must be an array of 1 to ${MAX_EVENT_TYPES} event-type URIs (omit it for every type)`);
  }
  for (const type of value) {
    if (!isEventTypeUri(type)) throw new InvalidRequest(`Each event type must be an absolute URI of at most ${MAX_URI_LENGTH} characters`);
  }
  if (new Set(value).size !== value.length) throw new InvalidRequest('eventTypes must not repeat a type');
  return [...(value as string[])];
}

export function checkExpectedVersion(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidRequest('expectedVersion must be a positive integer');
  }
  return value;
}

export function checkLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE_LIMIT;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_PAGE_LIMIT) {
    throw new InvalidRequest(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`);
  }
  return value;
}

export function rejectUnknownMembers(input: Record<string, unknown>, allowed: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.has(key)) throw new InvalidRequest(`Unknown member ${JSON.stringify(key.slice(0, 64))} in ${what}`);
  }
}

const CLAIM_MEMBERS = ['events', 'sub', 'sub_id', 'txn', 'toe'] as const;

/**
 * Checks and normalizes the SET claims of a notification (RFC 8417 §2.2): `events` maps 1 to 50
 * event-type URIs to JSON objects; `sub_id` is an RFC 9493 subject identifier (an object with a
 * `format`); `toe` is a NumericDate. The result is a JSON round-trip, so it stores and compares
 * exactly as it will be signed.
 */
export function checkClaims(input: Record<string, unknown>, maxBytes = MAX_CLAIMS_BYTES): NotificationClaims {
  const { events, sub, sub_id, txn, toe } = input;
  if (!isObject(events)) throw new InvalidRequest('events must be an object mapping event-type URIs to event objects');
  const types = Object.keys(events);
  if (types.length < 1 || types.length > MAX_EVENT_TYPES) throw new InvalidRequest(`events must name 1 to ${MAX_EVENT_TYPES} event types`);
  for (const type of types) {
    if (!isEventTypeUri(type)) throw new InvalidRequest(`Each event type must be an absolute URI of at most ${MAX_URI_LENGTH} characters`);
    if (!isObject(events[type])) throw new InvalidRequest('Each event must be a JSON object');
  }
  const isClaimString = (v: unknown) => typeof v === 'string' && v.length >= 1 && v.length <= MAX_STRING_CLAIM;
  if (sub !== undefined && !isClaimString(sub)) throw new InvalidRequest(`sub must be a string of 1 to ${MAX_STRING_CLAIM} characters`);
  if (sub_id !== undefined && !(isObject(sub_id) && isClaimString(sub_id.format))) {
    throw new InvalidRequest('sub_id must be a subject identifier object with a format (RFC 9493)');
  }
  if (txn !== undefined && !isClaimString(txn)) throw new InvalidRequest(`txn must be a string of 1 to ${MAX_STRING_CLAIM} characters`);
  if (toe !== undefined && !(typeof toe === 'number' && Number.isFinite(toe) && toe >= 0)) {
    throw new InvalidRequest('toe must be a NumericDate (seconds since the epoch)');
  }
  const picked: Record<string, unknown> = {};
  for (const member of CLAIM_MEMBERS) if (input[member] !== undefined) picked[member] = input[member];
  if (depthOf(picked) > MAX_CLAIMS_DEPTH) throw new InvalidRequest(`The claims must not nest arrays and objects more than ${MAX_CLAIMS_DEPTH} deep`);
  let json: string;
  try {
    json = JSON.stringify(picked);
  } catch {
    throw new InvalidRequest('The claims must be JSON');
  }
  if (Buffer.byteLength(json, 'utf8') > maxBytes) throw new InvalidRequest(`The claims must not exceed ${maxBytes} bytes of JSON`);
  return JSON.parse(json) as NotificationClaims;
}

/** How deeply arrays and objects nest in a JSON value (a scalar: 0); iterative, so no depth overflows the stack. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return deepest;
}

export function checkTtlSeconds(value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TTL_SECONDS) {
    throw new InvalidRequest(`ttlSeconds must be an integer from 1 to ${MAX_TTL_SECONDS}`);
  }
  return value;
}

/** JSON with object keys sorted: equal for equal claims, whatever order DynamoDB returned a map in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
