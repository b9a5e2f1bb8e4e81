/** `setpoll keys ...`: the keys the JWKS publishes besides the current signing key, and rotation. */
import { DEFAULT_PREVIOUS_KEY_SECONDS, TOOL_ENV } from '../../lambdas/contract.ts';
import { KeySetAdmin, isPublished } from '../../lambdas/keys/published-keys.ts';
import { assertAlgorithm, generateSigningJwk, publicJwk, writeSigningJwk } from '../../lambdas/producer/signer.ts';
import { DynamoKeySetStore } from '../../lambdas/store/dynamo-key-set-store.ts';
import { KeyAlreadyPublished } from '../../lambdas/store/key-set-store.ts';
import { signingKeyFileFor } from '../../local/config.ts';
import { parseWithPositionals, positiveInteger, subcommandLine } from '../args.ts';
import { withTarget, type Target } from '../connection.ts';
import { TABLE_COMMAND_OPTIONS, TABLE_HELP, helpFooter } from '../target.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { readJsonFile } from '../files.ts';
import { table } from '../format.ts';
import type { Io } from '../io.ts';
import { kmsSigner, readPrivateJwk } from '../signing.ts';

const COMMAND = 'keys';

export const KEYS_HELP = `Usage: setpoll keys <subcommand> [options]

The JWKS (/jwks.json, and the public JWKS URL) holds the current signing key and the keys listed
here: previous signing keys until the SETs they signed have expired, and producers' public keys.

Subcommands:
  list                                   the published keys (--all: expired ones too)
  register --jwk FILE [--label NAME]     publish a producer's public key (a private key is refused)
  retire   --kid=KID [--keep SECONDS]    stop publishing a key once SETs it signed have expired
  remove   --kid=KID                     stop publishing a key at once (e.g. a leaked key)
  rotate   [--keep SECONDS]              local stack: keep the current signing key published as a
                                         previous key, then write a new signing key; restart the
                                         stack to sign with it
  rotate   --kms-key-arn ARN [--alg ALG] [--keep SECONDS]
                                         a deployment (--table): keep the KMS key that signs now
                                         published as a previous key; then deploy with the new
                                         signingKeyArn

Options:
  --keep SECONDS   how long a replaced or retired key stays published
                   (default: $${TOOL_ENV.previousKeySeconds}, else ${DEFAULT_PREVIOUS_KEY_SECONDS}: 7 days, setpoll's
                   default SET lifetime; it must cover the longest --ttl producers use)
  --alg ALG        the KMS key's algorithm: PS256 (default), RS256 or ES256
${helpFooter(19, TABLE_HELP)}`;

const OPTIONS = {
  ...TABLE_COMMAND_OPTIONS,
  all: { type: 'boolean' },
  jwk: { type: 'string' },
  label: { type: 'string' },
  kid: { type: 'string' },
  keep: { type: 'string' },
  'kms-key-arn': { type: 'string' },
  alg: { type: 'string' },
} as const;

type Options = ReturnType<typeof parse>['values'];
const parse = (args: readonly string[]) => parseWithPositionals(COMMAND, args, OPTIONS, []);

interface Subcommand {
  /** Options this subcommand takes besides the common and target ones. */
  readonly takes: readonly (keyof typeof OPTIONS)[];
  run(admin: KeySetAdmin, o: Options, io: Io, target: Target): Promise<void>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  list: {
    takes: ['all'],
    async run(admin, o, io) {
      const now = Date.now();
      const keys = (await admin.list()).filter((k) => o.all || isPublished(k, now));
      if (o.json) {
        io.out(JSON.stringify(keys.map((k) => ({ ...k, published: isPublished(k, now) }))));
        return;
      }
      if (keys.length === 0) {
        io.out('No published keys besides the current signing key');
        return;
      }
      const rows = keys.map((k) => [k.kid, k.kind, k.label ?? '', k.until === undefined ? '' : new Date(k.until * 1000).toISOString(), isPublished(k, now) ? 'yes' : 'no']);
      for (const line of table(['KID', 'KIND', 'LABEL', 'UNTIL', 'PUBLISHED'], rows)) io.out(line);
    },
  },
  register: {
    takes: ['jwk', 'label'],
    async run(admin, o, io) {
      if (o.jwk === undefined) throw new UsageError('--jwk FILE is required', COMMAND);
      const jwk = await readJsonFile(o.jwk, 'the JWK');
      const key = await refuseInvalid(() => admin.registerProducerKey(jwk, o.label));
      io.out(o.json ? JSON.stringify(key) : `Published producer key ${key.kid}`);
    },
  },
  retire: {
    takes: ['kid', 'keep'],
    async run(admin, o, io) {
      const kid = requiredKid(o);
      const keep = keepSeconds(o);
      const until = await admin.retire(kid, keep);
      if (until === undefined) throw new CliFailure(`No published key ${kid}`);
      io.out(o.json ? JSON.stringify({ kid, until }) : `Key ${kid} stays published until ${new Date(until * 1000).toISOString()}`);
    },
  },
  remove: {
    takes: ['kid'],
    async run(admin, o, io) {
      const kid = requiredKid(o);
      if ((await admin.retire(kid, 0)) === undefined) throw new CliFailure(`No published key ${kid}`);
      io.out(o.json ? JSON.stringify({ kid, published: false }) : `Key ${kid} is no longer published`);
    },
  },
  rotate: {
    takes: ['keep', 'kms-key-arn', 'alg'],
    async run(admin, o, io, target) {
      const keep = keepSeconds(o);
      if (target.local) {
        if (o['kms-key-arn'] !== undefined || o.alg !== undefined) throw new UsageError('--kms-key-arn and --alg are for a deployment (--table)', COMMAND);
        const file = signingKeyFileFor(target.local.configFile);
        const current = await readPrivateJwk(file);
        const alg = current.alg ?? 'PS256';
        assertAlgorithm(alg);
        // The old key is published before the new one can sign anything: no SET is ever unverifiable.
        const previous = await refuseInvalid(() => admin.retainPreviousKey(publicJwk(current), keep));
        const next = await generateSigningJwk(alg);
        await writeSigningJwk(file, next);
        if (o.json) {
          io.out(JSON.stringify({ previous, next: { kid: next.kid, file } }));
          return;
        }
        io.out(`Previous key ${previous.kid} stays published until ${new Date(previous.until! * 1000).toISOString()}`);
        io.out(`New signing key ${next.kid} written to ${file}: restart the local stack (npm start) to sign with it`);
        return;
      }
      const keyArn = o['kms-key-arn'];
      if (keyArn === undefined) throw new UsageError('rotate with --table needs --kms-key-arn: the key that signs now (the SigningKeyArn output)', COMMAND);
      const { signer, close } = await kmsSigner({ keyArn, alg: o.alg ?? 'PS256', aws: target.aws, command: COMMAND });
      try {
        const previous = await refuseInvalid(() => admin.retainPreviousKey(signer.publicJwk, keep));
        if (o.json) {
          io.out(JSON.stringify({ previous, keyArn }));
          return;
        }
        io.out(`Key ${previous.kid} (${keyArn}) stays published until ${new Date(previous.until! * 1000).toISOString()}`);
        io.out('Now deploy with the new signingKeyArn; publishers pick the new key up from the SigningKeyArn output.');
      } finally {
        close();
      }
    },
  },
};

export async function keysCommand(args: readonly string[], io: Io): Promise<void> {
  const line = subcommandLine({ name: COMMAND, help: KEYS_HELP }, args, Object.keys(SUBCOMMANDS), parse, io);
  if (line === undefined) return;
  const { name, values: o } = line;
  const sub = SUBCOMMANDS[name]!;
  for (const option of ['all', 'jwk', 'label', 'kid', 'keep', 'kms-key-arn', 'alg'] as const) {
    if (o[option] !== undefined && !sub.takes.includes(option)) throw new UsageError(`keys ${name} does not take --${option}`, COMMAND);
  }
  await withTarget(o, COMMAND, (target) => sub.run(new KeySetAdmin({ store: new DynamoKeySetStore({ client: target.documentClient, tableName: target.tableName }) }), o, io, target));
}

function requiredKid(o: Options): string {
  if (!o.kid) throw new UsageError('--kid KID is required', COMMAND);
  return o.kid;
}

function keepSeconds(o: Options): number {
  const fromEnv = process.env[TOOL_ENV.previousKeySeconds];
  return (
    positiveInteger(o.keep, 'keep', COMMAND) ??
    (fromEnv ? positiveIntegerSetting(fromEnv) : DEFAULT_PREVIOUS_KEY_SECONDS)
  );
}

function positiveIntegerSetting(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${TOOL_ENV.previousKeySeconds} must be a positive whole number, got ${JSON.stringify(raw)}`, COMMAND);
  return n;
}

/** A key the validator refuses, or a kid already taken, is the operator's to fix: exit 1 with why. */
async function refuseInvalid<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TypeError || error instanceof KeyAlreadyPublished) throw new CliFailure(error.message);
    throw error;
  }
}
