import { InvalidRequest } from './errors.ts';
import { intendedMember } from './member-names.ts';
import { isObject } from '../shared/helpers.ts';

/** One entry of `setErrs` (RFC 8936 §2.4.4, RFC 8935 §2.3). */
export interface SetError {
  readonly err: string;
  readonly description?: string;
}

/** A validated poll request (RFC 8936 §2.2). */
export interface PollRequest {
  /** Undefined when omitted: the server cap applies. */
  readonly maxEvents?: number;
  readonly returnImmediately: boolean;
  readonly ack: readonly string[];
  readonly setErrs: ReadonlyMap<string, SetError>;
}

export const JTI_MAX_LENGTH = 128;
export const ERR_MAX_LENGTH = 40;
/** setErrs descriptions are stored up to this many UTF-16 code units; longer ones are cut, not refused. */
export const DESCRIPTION_MAX_LENGTH = 256;
/** Default cap on jtis named by `ack` and `setErrs` together: each costs a write, so it is bounded. */
export const MAX_ANSWERS_PER_REQUEST = 1000;

export const POLL_MEMBERS = ['maxEvents', 'returnImmediately', 'ack', 'setErrs'] as const;
export const SET_ERROR_MEMBERS = ['err', 'description'] as const;

/** A lone surrogate cannot be stored as such (DynamoDB turns it into '?'): it could name another SET. */
const isWellFormed = (v: string): boolean => Buffer.from(v, 'utf8').toString('utf8') === v;
const isJti = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= JTI_MAX_LENGTH && isWellFormed(v);

/**
 * Validates a parsed JSON body. Members RFC 8936 does not define are ignored, except near-misses
 * of defined ones (member-names.ts), which are refused so a misspelt `acks` cannot silently drop
 * acknowledgements. A member whose value is `null` counts as omitted (clients that serialise nulls).
 */
export function parsePollRequest(body: unknown, options: { maxAnswers?: number } = {}): PollRequest {
  const maxAnswers = options.maxAnswers ?? MAX_ANSWERS_PER_REQUEST;
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object');
  refuseNearMisses(body, POLL_MEMBERS, 'member');

  const [maxEvents, returnImmediately, ack, setErrs] = POLL_MEMBERS.map((name) => orUndefined(body[name]));
  if (maxEvents !== undefined && !(typeof maxEvents === 'number' && Number.isInteger(maxEvents) && maxEvents >= 0)) {
    throw new InvalidRequest('maxEvents must be a non-negative integer');
  }
  if (returnImmediately !== undefined && typeof returnImmediately !== 'boolean') {
    throw new InvalidRequest('returnImmediately must be a boolean');
  }

  let acks: string[] = [];
  if (ack !== undefined) {
    if (!Array.isArray(ack)) throw new InvalidRequest('ack must be an array of jti strings');
    if (!ack.every(isJti)) throw new InvalidRequest(`ack entries must be strings of 1 to ${JTI_MAX_LENGTH} characters`);
    acks = [...new Set(ack)];
  }

  const errs = new Map<string, SetError>();
  if (setErrs !== undefined) {
    if (!isObject(setErrs)) throw new InvalidRequest('setErrs must be an object keyed by jti');
    for (const [jti, value] of Object.entries(setErrs)) {
      if (!isJti(jti)) throw new InvalidRequest(`setErrs keys must be jti strings of 1 to ${JTI_MAX_LENGTH} characters`);
      errs.set(jti, parseSetError(value));
    }
  }
  if (acks.length + errs.size > maxAnswers) {
    throw new InvalidRequest(`ack and setErrs may name at most ${maxAnswers} SETs in one request`);
  }
  for (const jti of acks) {
    if (errs.has(jti)) throw new InvalidRequest('A jti cannot be both acknowledged and reported in setErrs');
  }

  return {
    ...(maxEvents === undefined ? {} : { maxEvents: maxEvents as number }),
    returnImmediately: returnImmediately === true,
    ack: acks,
    setErrs: errs,
  };
}

function parseSetError(value: unknown): SetError {
  if (!isObject(value)) throw new InvalidRequest('Each setErrs entry must be an object with err and description');
  refuseNearMisses(value, SET_ERROR_MEMBERS, 'setErrs member');
  const err = orUndefined(value.err);
  const description = orUndefined(value.description);
  if (typeof err !== 'string' || err.length < 1 || err.length > ERR_MAX_LENGTH) {
    throw new InvalidRequest(`setErrs err must be a string of 1 to ${ERR_MAX_LENGTH} characters`);
  }
  if (description !== undefined && typeof description !== 'string') throw new InvalidRequest('setErrs description must be a string');
  return description === undefined ? { err } : { err, description: truncate(description, DESCRIPTION_MAX_LENGTH) };
}

/** `null` is read as omitted. */
const orUndefined = (value: unknown): unknown => (value === null ? undefined : value);

function refuseNearMisses(object: Record<string, unknown>, defined: readonly string[], what: string): void {
  for (const key of Object.keys(object)) {
    const meant = intendedMember(key, defined);
    if (meant !== undefined) throw new InvalidRequest(`Unknown ${what} ${JSON.stringify(key.slice(0, 64))}: did you mean ${JSON.stringify(meant)}?`);
  }
}

/** At most `max` UTF-16 code units, never cutting a surrogate pair in half (a lone half cannot be stored). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\ud800-\udbff]/.test(text[max - 1]!) ? max - 1 : max;
  return text.slice(0, end);
}
