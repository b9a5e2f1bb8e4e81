/** `setpoll recipients ...`: which client certificates identify which recipient. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { thumbprintOfPem } from '../../lambdas/core/certificate.ts';
import { CLIENT_ID_RULE, isClientId } from '../../lambdas/core/client-id.ts';
import type { Authorization } from '../../lambdas/store/authorization-store.ts';
import { NotFound } from '../../lambdas/core/errors.ts';
import { AuthorizationService } from '../../lambdas/notifier/authorizations.ts';
import { providerSetsWithdrawal } from '../../lambdas/notifier/provider-withdrawal.ts';
import { DynamoAuthorizationStore } from '../../lambdas/store/dynamo-authorization-store.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { NotifierQueue } from '../../lambdas/store/notifier-queue.ts';
import { RecipientCertificates, RotationRefused, type CertificateDetail } from '../../lambdas/store/queue-admin-certificates.ts';
import { CertificateInUse, RecipientRegistry } from '../../lambdas/store/recipient-registry.ts';
import { COMMON_OPTIONS } from '../args.ts';
import { withTarget } from '../connection.ts';
import { TABLE_HELP, TABLE_OPTIONS } from '../target.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { table } from '../format.ts';
import type { Io } from '../io.ts';
import { RECIPIENT_OPTIONS, parseWithRecipient, recipientOf } from '../recipient-flag.ts';

const COMMAND = 'recipients';

export const RECIPIENTS_HELP = `Usage: setpoll recipients <subcommand> [options]

Subcommands:
  add      -r ID (--cert FILE.pem | --fingerprint HEX)   register a client certificate
  remove   -r ID (--cert FILE.pem | --fingerprint HEX)   unregister it
  list     -r ID                                         list a recipient's certificates
  show     -r ID                                         each certificate's state: active, revoked
                                                         (when, why) or unregistered
  rotate   -r ID (--cert NEW.pem | --fingerprint HEX) [--remove-old OLD_HEX]
                                                         register the new certificate, verify it
                                                         identifies the recipient, and (with
                                                         --remove-old) unregister the old one in
                                                         the same transaction
  revoke   (--cert FILE.pem | --fingerprint HEX) [--reason TEXT]  deny a certificate everywhere
  unrevoke (--cert FILE.pem | --fingerprint HEX)                  lift a revocation
  authorize      -r ID --provider PROVIDER   let a Data Provider notify the recipient
  deauthorize    -r ID --provider PROVIDER   remove that authorization
  authorizations -r ID                       the providers that may notify the recipient

A certificate is identified by the SHA-256 fingerprint of its DER encoding (64 hex digits).
A recipient may hold several certificates. Rotation: rotate without --remove-old, let the
recipient switch, then remove the old one (or rotate --remove-old OLD when it has switched).
A new certificate works at once (within 5 s if it was just refused). Removals and revocations apply once the poll handlers' identity
cache expires (at most 30 s).

Authorizations record which Data Providers a recipient accepts notifications from (made here,
or by the recipient itself through the API).

Options:
  -r, --recipient ID  the recipient
  --provider ID    the Data Provider (authorize, deauthorize)
  --json           machine-readable output
  -h, --help       show this help

${TABLE_HELP}`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...TABLE_OPTIONS,
  ...RECIPIENT_OPTIONS,
  cert: { type: 'string' },
  fingerprint: { type: 'string' },
  reason: { type: 'string' },
  'remove-old': { type: 'string' },
  provider: { type: 'string' },
} as const;

type Options = ReturnType<typeof parse>['values'];
const parse = (args: readonly string[]) => parseWithRecipient(COMMAND, args, OPTIONS);

interface Stores {
  readonly registry: RecipientRegistry;
  readonly certificates: RecipientCertificates;
  readonly authorizations: DynamoAuthorizationStore;
  /** Deauthorization with the withdrawal of the provider's undelivered SETs, as the recipient API runs it. */
  readonly consent: AuthorizationService;
}

interface Subcommand {
  readonly needsClientId: boolean;
  readonly needsCertificate: boolean;
  readonly needsProvider?: boolean;
  run(stores: Stores, o: Options, io: Io, ids: { clientId: string; fingerprint: string; oldFingerprint?: string; providerId: string }): Promise<void>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  add: {
    needsClientId: true,
    needsCertificate: true,
    async run({ registry }, o, io, { clientId, fingerprint }) {
      let outcome: 'registered' | 'unchanged';
      try {
        outcome = await registry.register(clientId, fingerprint);
      } catch (error) {
        if (error instanceof CertificateInUse) throw new CliFailure(error.message);
        throw error;
      }
      if (o.json) io.out(JSON.stringify({ clientId, fingerprint, outcome }));
      else io.out(outcome === 'registered' ? `Registered ${fingerprint} to ${clientId}` : `${fingerprint} was already registered to ${clientId}`);
    },
  },
  remove: {
    needsClientId: true,
    needsCertificate: true,
    async run({ registry }, o, io, { clientId, fingerprint }) {
      if (!(await registry.remove(clientId, fingerprint))) throw new CliFailure(`${fingerprint} is not registered to ${clientId}`);
      if (o.json) io.out(JSON.stringify({ clientId, fingerprint, outcome: 'removed' }));
      else io.out(`Removed ${fingerprint} from ${clientId}`);
    },
  },
  list: {
    needsClientId: true,
    needsCertificate: false,
    async run({ registry }, o, io, { clientId }) {
      const certificates = await registry.list(clientId);
      const statuses = await Promise.all(certificates.map((c) => registry.lookup(c.fingerprint)));
      const rows = certificates.map((c, i) => ({
        fingerprint: c.fingerprint,
        addedAt: new Date(c.addedAt).toISOString(),
        revoked: statuses[i]?.revoked ?? false,
      }));
      if (o.json) io.out(JSON.stringify({ clientId, certificates: rows }));
      else if (rows.length === 0) io.out(`No certificates are registered to ${clientId}`);
      else for (const r of rows) io.out(`${r.fingerprint}  added ${r.addedAt}${r.revoked ? '  REVOKED' : ''}`);
    },
  },
  show: {
    needsClientId: true,
    needsCertificate: false,
    async run({ certificates }, o, io, { clientId }) {
      const details = await certificates.describe(clientId);
      if (o.json) io.out(JSON.stringify({ clientId, certificates: details.map(certificateJson) }));
      else if (details.length === 0) io.out(`No certificates are registered to ${clientId}`);
      else {
        const active = details.filter((d) => d.state === 'active').length;
        io.out(`${clientId}: ${details.length} certificate(s), ${active} active`);
        for (const line of table(['FINGERPRINT', 'ADDED', 'STATE'], details.map((d) => [d.fingerprint, new Date(d.addedAt).toISOString(), stateText(d)]))) io.out(line);
      }
    },
  },
  rotate: {
    needsClientId: true,
    needsCertificate: true,
    async run({ registry, certificates }, o, io, { clientId, fingerprint, oldFingerprint }) {
      // Checked first, so a rotation that cannot work changes nothing.
      const before = await registry.lookup(fingerprint);
      if (before.revoked) {
        throw new CliFailure(`${fingerprint} is revoked, so it cannot identify ${clientId}: nothing was changed (lift the revocation with 'setpoll recipients unrevoke' if that is intended)`);
      }
      if (before.clientId !== undefined && before.clientId !== clientId) throw new CliFailure(`Certificate ${fingerprint} is already registered to ${before.clientId}`);
      let outcome: 'registered' | 'unchanged' = before.clientId === clientId ? 'unchanged' : 'registered';
      try {
        if (oldFingerprint !== undefined) await certificates.swap(clientId, fingerprint, oldFingerprint);
        else outcome = await registry.register(clientId, fingerprint);
      } catch (error) {
        if (error instanceof RotationRefused) throw new CliFailure(`${error.message}: nothing was changed`);
        if (error instanceof CertificateInUse) throw new CliFailure(error.message);
        throw error;
      }
      // Verified with the poll handler's own lookup.
      const after = await registry.lookup(fingerprint);
      if (after.clientId !== clientId || after.revoked) throw new CliFailure(`Verification failed: ${fingerprint} does not identify ${clientId}`);
      if (oldFingerprint !== undefined) {
        const old = await registry.lookup(oldFingerprint);
        if (old.clientId !== undefined) throw new CliFailure(`Verification failed: ${oldFingerprint} is still registered to ${old.clientId}`);
      }
      const details = await certificates.describe(clientId);
      if (o.json) {
        io.out(JSON.stringify({ clientId, fingerprint, outcome, removed: oldFingerprint ?? null, certificates: details.map(certificateJson) }));
        return;
      }
      io.out(outcome === 'registered' ? `Registered ${fingerprint} to ${clientId}` : `${fingerprint} was already registered to ${clientId}`);
      if (oldFingerprint !== undefined) io.out(`Removed ${oldFingerprint} from ${clientId} (running servers may accept it for up to 30 s more)`);
      io.out(`Verified: ${fingerprint} identifies ${clientId}`);
      const others = details.filter((d) => d.fingerprint !== fingerprint && d.state === 'active');
      for (const d of others) {
        io.out(`Once ${clientId} polls with the new certificate: setpoll recipients remove --recipient ${clientId} --fingerprint ${d.fingerprint}`);
      }
    },
  },
  revoke: {
    needsClientId: false,
    needsCertificate: true,
    async run({ registry }, o, io, { fingerprint }) {
      await registry.revoke(fingerprint, o.reason);
      if (o.json) io.out(JSON.stringify({ fingerprint, outcome: 'revoked' }));
      else io.out(`Revoked ${fingerprint} (running servers refuse it within 30 s)`);
    },
  },
  unrevoke: {
    needsClientId: false,
    needsCertificate: true,
    async run({ registry }, o, io, { fingerprint }) {
      await registry.unrevoke(fingerprint);
      if (o.json) io.out(JSON.stringify({ fingerprint, outcome: 'unrevoked' }));
      else io.out(`Lifted any revocation of ${fingerprint}`);
    },
  },
  authorize: {
    needsClientId: true,
    needsCertificate: false,
    needsProvider: true,
    async run({ authorizations }, o, io, { clientId, providerId }) {
      const { outcome, authorization } = await authorizations.authorize(clientId, providerId, 'operator');
      if (o.json) io.out(JSON.stringify({ ...authorizationJson(authorization), outcome }));
      else io.out(outcome === 'created' ? `Authorized ${providerId} to notify ${clientId}` : `${providerId} was already authorized to notify ${clientId}`);
    },
  },
  deauthorize: {
    needsClientId: true,
    needsCertificate: false,
    needsProvider: true,
    async run({ consent }, o, io, { clientId, providerId }) {
      const { withdrawn } = await consent.deauthorize(clientId, providerId).catch((error: unknown) => {
        throw error instanceof NotFound ? new CliFailure(`${providerId} is not authorized to notify ${clientId}`) : error;
      });
      if (o.json) io.out(JSON.stringify({ recipientId: clientId, providerId, outcome: 'removed', withdrawn }));
      else io.out(`${providerId} may no longer notify ${clientId}; ${withdrawn} undelivered SET${withdrawn === 1 ? '' : 's'} withdrawn from its queue`);
    },
  },
  authorizations: {
    needsClientId: true,
    needsCertificate: false,
    async run({ authorizations }, o, io, { clientId }) {
      const all: Authorization[] = [];
      let cursor: string | undefined;
      do {
        const page = await authorizations.listProviders(clientId, { limit: 100, ...(cursor ? { cursor } : {}) });
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (o.json) io.out(JSON.stringify({ recipientId: clientId, authorizations: all.map(authorizationJson) }));
      else if (all.length === 0) io.out(`No Data Provider may notify ${clientId}`);
      else for (const line of table(['PROVIDER', 'BY', 'SINCE'], all.map((a) => [a.providerId, a.grantedBy, new Date(a.authorizedAt).toISOString()]))) io.out(line);
    },
  },
};

const SUBCOMMAND_LIST = 'add, remove, list, show, rotate, revoke, unrevoke, authorize, deauthorize or authorizations';

export async function recipientsCommand(args: readonly string[], io: Io): Promise<void> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) throw new UsageError(`a subcommand is required: ${SUBCOMMAND_LIST}`, COMMAND);
    io.out(RECIPIENTS_HELP);
    return;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub || !Object.hasOwn(SUBCOMMANDS, name)) throw new UsageError(`unknown subcommand ${JSON.stringify(name)}: use ${SUBCOMMAND_LIST}`, COMMAND);
  const { values: o, positionals } = parse(rest);
  if (o.help) {
    io.out(RECIPIENTS_HELP);
    return;
  }
  const recipient = recipientOf(o, positionals, COMMAND);
  if (sub.needsClientId && recipient === undefined) throw new UsageError('--recipient is required', COMMAND);
  if (!sub.needsClientId && recipient !== undefined) throw new UsageError(`recipients ${name} does not take --recipient`, COMMAND);
  const clientId = recipient ?? '';
  if (!sub.needsCertificate && (o.cert !== undefined || o.fingerprint !== undefined)) {
    throw new UsageError(`recipients ${name} takes no --cert or --fingerprint`, COMMAND);
  }
  if (o.reason !== undefined && name !== 'revoke') throw new UsageError('--reason is only for recipients revoke', COMMAND);
  if (o['remove-old'] !== undefined && name !== 'rotate') throw new UsageError('--remove-old is only for recipients rotate', COMMAND);
  if (o.provider !== undefined && !sub.needsProvider) throw new UsageError('--provider is only for recipients authorize and deauthorize', COMMAND);
  if (sub.needsProvider && o.provider === undefined) throw new UsageError(`recipients ${name} needs --provider`, COMMAND);
  const providerId = o.provider ?? '';
  if (sub.needsProvider && !isClientId(providerId)) throw new UsageError(`--provider ${JSON.stringify(providerId)} is not valid: a client id is ${CLIENT_ID_RULE}`, COMMAND);
  const oldFingerprint = o['remove-old'] === undefined ? undefined : normalizeFingerprint(o['remove-old'], 'remove-old');
  const fingerprint = sub.needsCertificate ? await fingerprintOf(o.cert, o.fingerprint) : '';
  if (oldFingerprint !== undefined && oldFingerprint === fingerprint) throw new UsageError('--remove-old names the new certificate: give the fingerprint of the one it replaces', COMMAND);

  await withTarget(o, COMMAND, (target) => {
    const stores = {
      registry: new RecipientRegistry({ client: target.documentClient, tableName: target.tableName }),
      certificates: new RecipientCertificates({ client: target.documentClient, tableName: target.tableName }),
      authorizations: new DynamoAuthorizationStore({ client: target.documentClient, tableName: target.tableName }),
    };
    const queue = new NotifierQueue({ client: target.documentClient, tableName: target.tableName, queue: new DynamoQueueStore({ client: target.documentClient, tableName: target.tableName }) });
    const consent = new AuthorizationService({ store: stores.authorizations, withdraw: providerSetsWithdrawal(queue) });
    return sub.run({ ...stores, consent }, o, io, { clientId, fingerprint, providerId, ...(oldFingerprint === undefined ? {} : { oldFingerprint }) });
  });
}

/** The registry key from exactly one of --cert and --fingerprint. */
async function fingerprintOf(certFile: string | undefined, fingerprint: string | undefined): Promise<string> {
  if ((certFile === undefined) === (fingerprint === undefined)) throw new UsageError('give exactly one of --cert FILE.pem and --fingerprint HEX', COMMAND);
  if (fingerprint !== undefined) return normalizeFingerprint(fingerprint);
  const file = resolve(certFile!);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliFailure(`Cannot read the certificate ${file}: ${reason}`);
  }
  const thumbprint = thumbprintOfPem(pem);
  if (!thumbprint) throw new CliFailure(`${file} is not a PEM certificate`);
  return thumbprint.hex;
}

/** Accepts upper case and colon or space separators (as openssl prints it); answers lowercase hex. */
export function normalizeFingerprint(raw: string, option = 'fingerprint'): string {
  const hex = raw.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError(`--${option} must be a SHA-256 fingerprint: 64 hex digits`, COMMAND);
  return hex;
}

function certificateJson(d: CertificateDetail) {
  return {
    fingerprint: d.fingerprint,
    addedAt: new Date(d.addedAt).toISOString(),
    state: d.state,
    ...(d.revokedAt === undefined ? {} : { revokedAt: new Date(d.revokedAt).toISOString() }),
    ...(d.reason === undefined ? {} : { reason: d.reason }),
    ...(d.owner === undefined ? {} : { owner: d.owner }),
  };
}

function authorizationJson(a: Authorization) {
  return { recipientId: a.recipientId, providerId: a.providerId, grantedBy: a.grantedBy, authorizedAt: new Date(a.authorizedAt).toISOString() };
}

function stateText(d: CertificateDetail): string {
  const revoked = d.revokedAt === undefined ? '' : `revoked ${new Date(d.revokedAt).toISOString()}${d.reason ? ` (${d.reason})` : ''}`;
  if (d.state === 'unregistered') return `unregistered${d.owner ? ` (registered to ${d.owner})` : ''}${revoked ? `, ${revoked}` : ''}`;
  return d.state === 'revoked' ? revoked : 'active';
}
