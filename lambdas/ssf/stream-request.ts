/**
 * Parsing of the SSF stream-management request bodies (SSF 1.0 §7.1). Liberal where nothing is at
 * risk: members setpoll does not know are ignored (receivers' libraries send extras such as
 * `format`), and unknown event types in `events_requested` are ignored for delivery. Strict where a
 * mistake would mislead: a transmitter-supplied member that is echoed must match, and push delivery
 * is refused.
 */
import { InvalidRequest } from '../core/errors.ts';
import type { StreamStatus } from '../store/stream-store.ts';
import { POLL_DELIVERY } from './vocabulary.ts';

export const MAX_EVENTS_REQUESTED = 50;
export const MAX_URI_LENGTH = 256;
/** `description` and `reason` are truncated to this (SSF lets the transmitter truncate them). */
export const MAX_TEXT_LENGTH = 256;
export const MAX_STATE_LENGTH = 256;
/** Stream ids setpoll makes are UUIDs; anything longer than this cannot be one of them. */
const MAX_STREAM_ID_LENGTH = 128;

/** What the transmitter supplies for this receiver; echoed members must equal these. */
export interface TransmitterValues {
  readonly streamId?: string;
  readonly iss: string;
  readonly aud: string;
  readonly eventsSupported: readonly string[];
  readonly endpointUrl: string;
  readonly minVerificationInterval: number;
}

/** The receiver-supplied members of a create, update or replace; undefined: not given. */
export interface StreamChange {
  readonly streamId?: string;
  readonly eventsRequested?: readonly string[];
  readonly description?: string;
}

type Body = Record<string, unknown>;

export const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

function asBody(body: unknown): Body {
  if (!isObject(body)) throw new InvalidRequest('The request body must be a JSON object');
  return body;
}

/** `stream_id` of a body or query: a non-empty string (an unknown one is a 404 later, not a 400). */
export function streamIdOf(value: unknown, where = 'stream_id'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_STREAM_ID_LENGTH) {
    throw new InvalidRequest(`${where} must be a stream id (a string of 1 to ${MAX_STREAM_ID_LENGTH} characters)`);
  }
  return value;
}

/** A create (no stream_id expected), an update or a replace (stream_id required). */
export function parseStreamChange(raw: unknown, expected: TransmitterValues, mode: 'create' | 'update' | 'replace'): StreamChange {
  const body = asBody(raw);
  const streamId = mode === 'create' ? undefined : streamIdOf(body.stream_id);
  if (mode === 'create' && body.stream_id !== undefined) throw new InvalidRequest('stream_id is chosen by the transmitter: leave it out of a create');
  checkEchoes(body, expected);
  const eventsRequested = body.events_requested === undefined ? undefined : eventTypes(body.events_requested);
  let description: string | undefined;
  if (body.description !== undefined) {
    if (typeof body.description !== 'string') throw new InvalidRequest('description must be a string');
    description = body.description.slice(0, MAX_TEXT_LENGTH);
  }
  return { ...(streamId === undefined ? {} : { streamId }), ...(eventsRequested ? { eventsRequested } : {}), ...(description === undefined ? {} : { description }) };
}

function eventTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_EVENTS_REQUESTED) {
    throw new InvalidRequest(`events_requested must be an array of at most ${MAX_EVENTS_REQUESTED} event type URIs`);
  }
  for (const type of value) {
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_URI_LENGTH) {
      throw new InvalidRequest(`Each events_requested entry must be a string of 1 to ${MAX_URI_LENGTH} characters`);
    }
  }
  return [...new Set(value as string[])];
}

/** SSF §7.1.1: the delivery method (poll only) and every transmitter-supplied member echoed must match. */
function checkEchoes(body: Body, expected: TransmitterValues): void {
  if (body.delivery !== undefined) {
    if (!isObject(body.delivery)) throw new InvalidRequest('delivery must be an object');
    const { method, endpoint_url: url } = body.delivery;
    if (method !== undefined && method !== POLL_DELIVERY) {
      throw new InvalidRequest(`Only poll delivery (${POLL_DELIVERY}) is offered; push and other methods are not`);
    }
    if (url !== undefined && url !== expected.endpointUrl) {
      throw new InvalidRequest('delivery.endpoint_url of a poll stream is supplied by the transmitter: leave it out or echo it unchanged');
    }
  }
  const mismatch = (name: string) => new InvalidRequest(`${name} is supplied by the transmitter: leave it out or echo it unchanged`);
  if (body.iss !== undefined && body.iss !== expected.iss) throw mismatch('iss');
  if (body.aud !== undefined && !(body.aud === expected.aud || (Array.isArray(body.aud) && body.aud.length === 1 && body.aud[0] === expected.aud))) throw mismatch('aud');
  if (body.events_supported !== undefined && !sameSet(body.events_supported, expected.eventsSupported)) throw mismatch('events_supported');
  if (body.min_verification_interval !== undefined && body.min_verification_interval !== expected.minVerificationInterval) throw mismatch('min_verification_interval');
  if (body.inactivity_timeout !== undefined) throw new InvalidRequest('inactivity_timeout is not offered: streams never time out');
}

function sameSet(given: unknown, expected: readonly string[]): boolean {
  if (!Array.isArray(given) || given.some((v) => typeof v !== 'string')) return false;
  const a = new Set(given as string[]);
  return a.size === expected.length && expected.every((v) => a.has(v));
}

export interface StatusChange {
  readonly streamId: string;
  readonly status: StreamStatus;
  readonly reason?: string;
}

export function parseStatusChange(raw: unknown): StatusChange {
  const body = asBody(raw);
  const streamId = streamIdOf(body.stream_id);
  if (body.status !== 'enabled' && body.status !== 'paused' && body.status !== 'disabled') {
    throw new InvalidRequest('status must be enabled, paused or disabled');
  }
  if (body.reason !== undefined && typeof body.reason !== 'string') throw new InvalidRequest('reason must be a string');
  const reason = typeof body.reason === 'string' ? body.reason.slice(0, MAX_TEXT_LENGTH) : undefined;
  return { streamId, status: body.status, ...(reason === undefined ? {} : { reason }) };
}

export interface VerificationRequest {
  readonly streamId: string;
  readonly state?: string;
}

export function parseVerification(raw: unknown): VerificationRequest {
  const body = asBody(raw);
  const streamId = streamIdOf(body.stream_id);
  if (body.state !== undefined && (typeof body.state !== 'string' || body.state.length > MAX_STATE_LENGTH)) {
    throw new InvalidRequest(`state must be a string of at most ${MAX_STATE_LENGTH} characters`);
  }
  return { streamId, ...(body.state === undefined ? {} : { state: body.state as string }) };
}
