/** The claims options of `publish` and `notify`: above all `--events JSON|@FILE`, the SET's events claim. */
import type { OptionsConfig } from './args.ts';
import { UsageError } from './errors.ts';
import { readTextFile } from './files.ts';

/** The SET claims a producer gives, and how long the SET stays queued (--ttl SECONDS). */
export const CLAIM_OPTIONS = {
  events: { type: 'string' },
  sub: { type: 'string' },
  txn: { type: 'string' },
  ttl: { type: 'string' },
} as const satisfies OptionsConfig;

export type EventsClaim = Record<string, Record<string, unknown>>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The text of an option given inline or as `@FILE`. */
export async function inlineOrFile(raw: string, option: string): Promise<string> {
  return raw.startsWith('@') ? readTextFile(raw.slice(1), `${option} file`) : raw;
}

/** Parses `--events`: a JSON object mapping at least one event-type URI to a payload object. */
export async function parseEvents(raw: string, command: string): Promise<EventsClaim> {
  const text = await inlineOrFile(raw, '--events');
  let events: unknown;
  try {
    events = JSON.parse(text);
  } catch {
    throw new UsageError('--events must be a JSON object (event type URI -> event payload object)', command);
  }
  if (!isObject(events) || Object.keys(events).length === 0 || !Object.values(events).every(isObject)) {
    throw new UsageError('--events must be a JSON object mapping at least one event type URI to a payload object', command);
  }
  return events as EventsClaim;
}
