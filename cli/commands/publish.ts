/** `setpoll publish`: sign one SET and queue it for one or more recipients. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JWK } from 'jose';
import { Publisher } from '../../lambdas/producer/publish.ts';
import { JwkSigner } from '../../lambdas/producer/signer.ts';
import { intendedMember } from '../../lambdas/core/member-names.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { RecipientRegistry } from '../../lambdas/store/recipient-registry.ts';
import { SIGNING_KEY_FILE_NAME, signingKeyFileFor } from '../../local/config.ts';
import { COMMON_OPTIONS, parseOptions, positiveInteger } from '../args.ts';
import { TARGET_HELP, TARGET_OPTIONS, defaultStateDir, withTarget, type Target } from '../connection.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { parseEvents } from '../events.ts';
import type { Io } from '../io.ts';

const COMMAND = 'publish';

export const DEFAULT_EVENTS = {
  'https://schemas.openid.net/secevent/caep/event-type/credential-change': { credential_type: 'x509', change_type: 'update' },
};

export const PUBLISH_HELP = `Usage: setpoll publish --recipient ID [--recipient ID2 ...] [options]

Signs one SET and queues it for each recipient. Prints the jti of the queued SET; a recipient
that already had this exact SET queued is reported on stderr as a duplicate.

Options:
  -r, --recipient ID   recipient client id (repeatable; at least one)
  --jti ID             the SET's jti (default: a random UUID)
  --events JSON        the events claim, or @FILE to read it from a file
                       (default: a CAEP credential-change example)
  --ttl SECONDS        how long the SET stays queued (default: 7 days)
  --sub S              the sub claim
  --txn T              the txn claim
  --key FILE.jwk       private signing JWK (default: the local stack's signing-key.json;
                       with --table: $SETPOLL_SIGNING_KEY or .setpoll/signing-key.json)
  --issuer URL         the iss claim (default: the local stack's issuer; with --table:
                       $SETPOLL_ISSUER, else required)
  --json               print {"jti","queued","duplicate"} as JSON
  --force              publish even to a recipient with no registered certificate (by default
                       that is refused: its SETs would wait for nobody)
  -h, --help           show this help

${TARGET_HELP}`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...TARGET_OPTIONS,
  recipient: { type: 'string', short: 'r', multiple: true },
  jti: { type: 'string' },
  events: { type: 'string' },
  ttl: { type: 'string' },
  sub: { type: 'string' },
  txn: { type: 'string' },
  key: { type: 'string' },
  issuer: { type: 'string' },
  force: { type: 'boolean' },
} as const;

export async function publishCommand(args: readonly string[], io: Io): Promise<void> {
  const o = parseOptions(COMMAND, args, OPTIONS);
  if (o.help) {
    io.out(PUBLISH_HELP);
    return;
  }
  const recipients = o.recipient ?? [];
  if (recipients.length === 0) throw new UsageError('at least one --recipient is required', COMMAND);
  for (const r of recipients) if (!r.trim()) throw new UsageError('--recipient cannot be empty', COMMAND);
  if (o.jti !== undefined && (o.jti.length < 1 || o.jti.length > 128)) throw new UsageError('--jti must be 1 to 128 characters', COMMAND);
  const ttlSeconds = positiveInteger(o.ttl, 'ttl', COMMAND);
  const events = o.events === undefined ? DEFAULT_EVENTS : await parseEvents(o.events, COMMAND);

  await withTarget(o, COMMAND, async (target) => {
    const { signer, issuer } = await signing(target, o.key, o.issuer);
    await refuseUnregistered(target, recipients, o.force === true, io);
    const store = new DynamoQueueStore({ client: target.documentClient, tableName: target.tableName });
    const publisher = new Publisher({ store, signer, issuer });
    const result = await publisher.publish({
      recipients,
      events,
      ...(o.jti === undefined ? {} : { jti: o.jti }),
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      ...(o.sub === undefined ? {} : { sub: o.sub }),
      ...(o.txn === undefined ? {} : { txn: o.txn }),
    });
    const ordered = [...new Set(recipients)];
    const queued = ordered.filter((r) => result.outcomes.get(r) === 'queued');
    const duplicate = ordered.filter((r) => result.outcomes.get(r) === 'duplicate');
    for (const recipient of duplicate) io.err(`duplicate: ${result.jti} was already queued for ${recipient}`);
    if (o.json) io.out(JSON.stringify({ jti: result.jti, queued, duplicate }));
    else if (queued.length > 0) io.out(result.jti);
  });
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

async function signing(target: Target, keyOption: string | undefined, issuerOption: string | undefined): Promise<{ signer: JwkSigner; issuer: string }> {
  let keyFile: string;
  let issuer: string | undefined;
  if (target.local) {
    keyFile = keyOption ?? signingKeyFileFor(target.local.configFile);
    issuer = issuerOption ?? target.local.config.issuer;
  } else {
    keyFile = keyOption ?? process.env.SETPOLL_SIGNING_KEY ?? resolve(defaultStateDir(), SIGNING_KEY_FILE_NAME);
    issuer = issuerOption ?? process.env.SETPOLL_ISSUER;
    if (!issuer) throw new UsageError('--issuer (or SETPOLL_ISSUER) is required with --table', COMMAND);
  }
  return { signer: await loadSigner(resolve(keyFile)), issuer };
}

async function loadSigner(file: string): Promise<JwkSigner> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliFailure(`Cannot read the signing key ${file}: ${reason}`);
  }
  if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) throw new CliFailure(`${file} is not a private JWK`);
  try {
    return await JwkSigner.fromJwk(jwk);
  } catch (error) {
    throw new CliFailure(`${file} is not a usable signing key: ${(error as Error).message}`);
  }
}
