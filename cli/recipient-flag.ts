/**
 * The one recipient flag: `--recipient ID` (`-r`). The names older scripts and the recipient
 * library's vocabulary use, `--client-id ID`, `--client ID` and a bare ID, keep working as hidden
 * aliases: no help shows them, every message names --recipient.
 */
import { parseArgs } from 'node:util';
import { CLIENT_ID_RULE, isClientId } from '../lambdas/shared/client-id.ts';
import { usageError, type OptionsConfig } from './args.ts';
import { UsageError } from './errors.ts';

export const RECIPIENT_OPTIONS = {
  recipient: { type: 'string', short: 'r' },
  'client-id': { type: 'string' },
  client: { type: 'string' },
} as const satisfies OptionsConfig;

/** The same, repeatable: `publish` queues one SET for several recipients. */
export const RECIPIENTS_OPTIONS = {
  recipient: { type: 'string', short: 'r', multiple: true },
  'client-id': { type: 'string', multiple: true },
  client: { type: 'string', multiple: true },
} as const satisfies OptionsConfig;

type PositionalConfig<O extends OptionsConfig> = { args: string[]; options: O; strict: true; allowPositionals: true };

/** `parseArgs` in strict mode, positionals allowed (the bare-ID alias); its errors as usage errors of `command`. */
export function parseWithRecipient<const O extends OptionsConfig>(command: string, args: readonly string[], options: O) {
  try {
    const config: PositionalConfig<O> = { args: [...args], options, strict: true, allowPositionals: true };
    return parseArgs(config);
  } catch (error) {
    throw usageError(error, command, options);
  }
}

interface RecipientValues {
  readonly recipient?: string | undefined;
  readonly 'client-id'?: string | undefined;
  readonly client?: string | undefined;
}

/** The recipient however it was named, checked against the client-id rule; undefined when none was. */
export function recipientOf(values: RecipientValues, positionals: readonly string[], command: string): string | undefined {
  const given = [values.recipient, values['client-id'], values.client, ...positionals].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError(`give one recipient, with --recipient ID (got ${given.map((v) => JSON.stringify(v)).join(', ')})`, command);
  const recipient = given[0];
  if (recipient !== undefined) checkRecipient(recipient, command);
  return recipient;
}

/** As recipientOf, for a command that needs the recipient. */
export function requiredRecipient(values: RecipientValues, positionals: readonly string[], command: string): string {
  const recipient = recipientOf(values, positionals, command);
  if (recipient === undefined) throw new UsageError('--recipient is required', command);
  return recipient;
}

interface RecipientsValues {
  readonly recipient?: readonly string[] | undefined;
  readonly 'client-id'?: readonly string[] | undefined;
  readonly client?: readonly string[] | undefined;
}

/** Every recipient named, in order, each checked; at least one. */
export function recipientsOf(values: RecipientsValues, positionals: readonly string[], command: string): string[] {
  const all = [...(values.recipient ?? []), ...(values['client-id'] ?? []), ...(values.client ?? []), ...positionals];
  if (all.length === 0) throw new UsageError('at least one --recipient is required', command);
  for (const recipient of all) checkRecipient(recipient, command);
  return all;
}

function checkRecipient(recipient: string, command: string): void {
  if (recipient.trim() === '') throw new UsageError('--recipient cannot be empty', command);
  if (!isClientId(recipient)) throw new UsageError(`--recipient ${JSON.stringify(recipient)} is not valid: a client id is ${CLIENT_ID_RULE}`, command);
}
