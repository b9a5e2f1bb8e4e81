/** `setpoll publish`: sign one SET and queue it for one or more recipients. */
import { Publisher } from '../../lambdas/producer/publish.ts';
import type { SetSigner } from '../../lambdas/producer/signer.ts';
import { intendedMember } from '../../lambdas/core/member-names.ts';
import { StreamProfileViolation, StreamQueueStore } from '../../lambdas/ssf/stream-queue-store.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { DynamoStreamStore } from '../../lambdas/store/dynamo-stream-store.ts';
import { RecipientRegistry } from '../../lambdas/store/recipient-registry.ts';
import { positiveInteger } from '../args.ts';
import { withTarget, type Target } from '../connection.ts';
import { TABLE_COMMAND_OPTIONS, TABLE_HELP, helpFooter } from '../target.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { CLAIM_OPTIONS, parseEvents } from '../events.ts';
import type { Io } from '../io.ts';
import { RECIPIENTS_OPTIONS, parseWithRecipient, recipientsOf } from '../recipient-flag.ts';
import { SIGNING_HELP, SIGNING_OPTIONS, signingFor } from '../signing.ts';

const COMMAND = 'publish';

export const DEFAULT_EVENTS = {
  'https://schemas.openid.net/secevent/caep/event-type/credential-change': { credential_type: 'x509', change_type: 'update' },
};

export const PUBLISH_HELP = `Usage: setpoll publish --recipient ID [--recipient ID2 ...] [options]

Signs one SET and queues it for each recipient. Prints the jti of the queued SET; a recipient
that already had this exact SET queued is reported on stderr as a duplicate. A recipient with an
SSF stream gets only event types its stream delivers (others are reported on stderr as filtered);
a SET outside the SSF SET profile (sub, several events, no txn) is refused for all recipients.

Options:
  -r, --recipient ID   recipient client id (repeatable; at least one)
  --jti ID             the SET's jti (default: a random UUID)
  --events JSON        the events claim, or @FILE to read it from a file
                       (default: a CAEP credential-change example)
  --ttl SECONDS        how long the SET stays queued (default: 7 days)
  --sub S              the sub claim
  --txn T              the txn claim
${SIGNING_HELP}
  --force              publish even to a recipient with no registered certificate (by default
                       that is refused: its SETs would wait for nobody)
${helpFooter(23, TABLE_HELP, 'print {"jti","queued","duplicate","filtered"} as JSON')}`;

const OPTIONS = {
  ...TABLE_COMMAND_OPTIONS,
  ...RECIPIENTS_OPTIONS,
  ...CLAIM_OPTIONS,
  jti: { type: 'string' },
  ...SIGNING_OPTIONS,
  force: { type: 'boolean' },
} as const;

type Options = ReturnType<typeof parseWithRecipient<typeof OPTIONS>>['values'];

export async function publishCommand(args: readonly string[], io: Io): Promise<void> {
  const { values: o, positionals } = parseWithRecipient(COMMAND, args, OPTIONS);
  if (o.help) {
    io.out(PUBLISH_HELP);
    return;
  }
  const recipients = recipientsOf(o, positionals, COMMAND);
  if (o.jti !== undefined && (o.jti.length < 1 || o.jti.length > 128)) throw new UsageError('--jti must be 1 to 128 characters', COMMAND);
  const ttlSeconds = positiveInteger(o.ttl, 'ttl', COMMAND);
  const events = o.events === undefined ? DEFAULT_EVENTS : await parseEvents(o.events, COMMAND);

  await withTarget(o, COMMAND, async (target) => {
    const { signer, issuer, close } = await signingFor(target, o, COMMAND);
    try {
      await refuseUnregistered(target, recipients, o.force === true, io);
      await publishWith(target, signer, issuer);
    } finally {
      close?.();
    }
  });

  async function publishWith(target: Target, signer: SetSigner, issuer: string): Promise<void> {
    const { documentClient: client, tableName } = target;
    // Through the SSF stream filter, as the Notifier's fan-out: a stream takes only what it asked for.
    const store = new StreamQueueStore({ queue: new DynamoQueueStore({ client, tableName }), streams: new DynamoStreamStore({ client, tableName }), issuer });
    const publisher = new Publisher({ store, signer, issuer });
    const result = await publisher
      .publish({
        recipients,
        events,
        ...(o.jti === undefined ? {} : { jti: o.jti }),
        ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
        ...(o.sub === undefined ? {} : { sub: o.sub }),
        ...(o.txn === undefined ? {} : { txn: o.txn }),
      })
      .catch((error: unknown) => {
        if (error instanceof StreamProfileViolation) throw new CliFailure(`nothing published: ${error.message}`);
        throw error;
      });
    const ordered = [...new Set(recipients)];
    const queued = ordered.filter((r) => result.outcomes.get(r) === 'queued');
    const duplicate = ordered.filter((r) => result.outcomes.get(r) === 'duplicate');
    const filtered = ordered.filter((r) => result.outcomes.get(r) === 'filtered');
    for (const recipient of duplicate) io.err(`duplicate: ${result.jti} was already queued for ${recipient}`);
    for (const recipient of filtered) io.err(`filtered: ${recipient}'s SSF stream does not take this SET (event type not requested, or stream disabled or deleted)`);
    if (o.json) io.out(JSON.stringify({ jti: result.jti, queued, duplicate, filtered }));
    else if (queued.length > 0) io.out(result.jti);
  }
}

/**
 * A SET for a recipient without a registered certificate waits out its TTL for nobody (a typo
 * in --recipient, or a recipient not yet registered): say so, and publish only with --force.
 */
async function refuseUnregistered(target: Target, recipients: readonly string[], force: boolean, io: Io): Promise<void> {
  const registry = new RecipientRegistry({ client: target.documentClient, tableName: target.tableName });
  const known = target.local?.config.clients.map((c) => c.clientId) ?? [];
  const unregistered: string[] = [];
  for (const recipient of new Set(recipients)) {
    if ((await registry.list(recipient)).length > 0) continue;
    unregistered.push(recipient);
    const meant = intendedMember(recipient, known);
    io.err(`setpoll: warning: ${JSON.stringify(recipient)} has no registered certificate, so nobody can poll its SETs${meant ? ` (did you mean ${meant}?)` : ''}`);
  }
  if (unregistered.length > 0 && !force) {
    throw new CliFailure(`nothing published: register ${unregistered.join(', ')} first (setpoll recipients add), or publish anyway with --force`);
  }
}
