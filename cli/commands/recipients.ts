/** `setpoll recipients ...`: which client certificates identify which recipient. */
import { CLIENT_ID_RULE, isClientId } from '../../lambdas/shared/client-id.ts';
import type { Authorization } from '../../lambdas/store/authorization-store.ts';
import { NotFound } from '../../lambdas/core/errors.ts';
import { AuthorizationService } from '../../lambdas/notifier/authorizations.ts';
import { providerSetsWithdrawal } from '../../lambdas/notifier/provider-withdrawal.ts';
import { DynamoAuthorizationStore } from '../../lambdas/store/dynamo-authorization-store.ts';
import { DynamoQueueStore } from '../../lambdas/store/dynamo-queue-store.ts';
import { NotifierQueue } from '../../lambdas/store/notifier-queue.ts';
import { RecipientCertificates, RotationRefused, type CertificateDetail } from '../../lambdas/store/queue-admin-certificates.ts';
import { CertificateInUse, RecipientRegistry, type CertificateFacts } from '../../lambdas/store/recipient-registry.ts';
import { withTarget } from '../connection.ts';
import { subcommandLine } from '../args.ts';
import { TABLE_COMMAND_OPTIONS, TABLE_HELP, helpFooter } from '../target.ts';
import { CliFailure, UsageError } from '../errors.ts';
import { table } from '../format.ts';
import type { Io } from '../io.ts';
import { RECIPIENT_OPTIONS, parseWithRecipient, recipientOf } from '../recipient-flag.ts';
import { UNKNOWN_FACTS, certificateOf, expiryText, normalizeFingerprint } from '../recipient-certificate.ts';

const COMMAND = 'recipients';

export const RECIPIENTS_HELP = `Usage: setpoll recipients <subcommand> [options]

Subcommands:
  add      -r ID (--cert FILE.pem | --fingerprint HEX)   register a client certificate
  remove   -r ID (--cert FILE.pem | --fingerprint HEX)   unregister it
  list     [-r ID]                                       every recipient and its certificates
                                                         (scans the table), or one recipient's
  show     -r ID                                         each certificate's state: active, revoked
                                                         (when, why) or unregistered, its subject
                                                         and expiry
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
A new certificate works at once (within 5 s if it was just refused). Removals and revocations
apply once the poll handlers' identity cache expires (at most 30 s).

A certificate registered from its PEM (--cert) keeps its subject and expiry for list and show;
one registered by --fingerprint shows them as unknown (add it again with --cert to fill them in).
list without -r reads the whole table: DynamoDB bills it like reading every item, queued SETs
included (about 0.5 read unit per 4 KB); it prints what it consumed.

Authorizations record which Data Providers a recipient accepts notifications from (made here,
or by the recipient itself through the API).

Options:
  -r, --recipient ID the recipient
  --provider ID      the Data Provider (authorize, deauthorize)
${helpFooter(21, TABLE_HELP)}`;

const OPTIONS = {
  ...TABLE_COMMAND_OPTIONS,
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
  /** list only: the recipient may be left out (every recipient). */
  readonly recipientOptional?: boolean;
  run(stores: Stores, o: Options, io: Io, ids: { clientId: string; fingerprint: string; facts?: CertificateFacts; oldFingerprint?: string; providerId: string }): Promise<void>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  add: {
    needsClientId: true,
    needsCertificate: true,
    async run({ registry }, o, io, { clientId, fingerprint, facts }) {
      let outcome: 'registered' | 'unchanged';
      try {
        outcome = await registry.register(clientId, fingerprint, Date.now(), facts);
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
    recipientOptional: true,
    needsCertificate: false,
    async run({ registry, certificates }, o, io, { clientId }) {
      if (clientId === '') return listAll(certificates, o, io);
      const listed = await registry.list(clientId);
      const statuses = await Promise.all(listed.map((c) => registry.lookup(c.fingerprint)));
      const rows = listed.map((c, i) => ({ ...c, revoked: statuses[i]?.revoked ?? false }));
      if (o.json) io.out(JSON.stringify({ clientId, certificates: rows.map(listedJson) }));
      else if (rows.length === 0) io.out(`No certificates are registered to ${clientId}`);
      else for (const r of rows) io.out(`${r.fingerprint}  added ${new Date(r.addedAt).toISOString()}${r.revoked ? '  REVOKED' : ''}`);
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
        const rows = details.map((d) => [d.fingerprint, new Date(d.addedAt).toISOString(), stateText(d), d.facts?.subject ?? UNKNOWN_FACTS, expiryText(d.facts)]);
        for (const line of table(['FINGERPRINT', 'ADDED', 'STATE', 'SUBJECT', 'EXPIRES'], rows)) io.out(line);
      }
    },
  },
  rotate: {
    needsClientId: true,
    needsCertificate: true,
    async run({ registry, certificates }, o, io, { clientId, fingerprint, facts, oldFingerprint }) {
      // Checked first, so a rotation that cannot work changes nothing.
      const before = await registry.lookup(fingerprint);
      if (before.revoked) {
        throw new CliFailure(`${fingerprint} is revoked, so it cannot identify ${clientId}: nothing was changed (lift the revocation with 'setpoll recipients unrevoke' if that is intended)`);
      }
      if (before.clientId !== undefined && before.clientId !== clientId) throw new CliFailure(`Certificate ${fingerprint} is already registered to ${before.clientId}`);
      let outcome: 'registered' | 'unchanged' = before.clientId === clientId ? 'unchanged' : 'registered';
      try {
        if (oldFingerprint !== undefined) await certificates.swap(clientId, fingerprint, oldFingerprint, Date.now(), facts);
        else outcome = await registry.register(clientId, fingerprint, Date.now(), facts);
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

export async function recipientsCommand(args: readonly string[], io: Io): Promise<void> {
  const line = subcommandLine({ name: COMMAND, help: RECIPIENTS_HELP }, args, Object.keys(SUBCOMMANDS), parse, io);
  if (line === undefined) return;
  const { name, values: o, positionals } = line;
  const sub = SUBCOMMANDS[name]!;
  const recipient = recipientOf(o, positionals, COMMAND);
  if (sub.needsClientId && !sub.recipientOptional && recipient === undefined) throw new UsageError('--recipient is required', COMMAND);
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
  const oldFingerprint = o['remove-old'] === undefined ? undefined : normalizeFingerprint(o['remove-old'], 'remove-old', COMMAND);
  const { fingerprint, facts } = sub.needsCertificate ? await certificateOf(o.cert, o.fingerprint, COMMAND) : { fingerprint: '', facts: undefined };
  if (oldFingerprint !== undefined && oldFingerprint === fingerprint) throw new UsageError('--remove-old names the new certificate: give the fingerprint of the one it replaces', COMMAND);

  await withTarget(o, COMMAND, (target) => {
    const stores = {
      registry: new RecipientRegistry({ client: target.documentClient, tableName: target.tableName }),
      certificates: new RecipientCertificates({ client: target.documentClient, tableName: target.tableName }),
      authorizations: new DynamoAuthorizationStore({ client: target.documentClient, tableName: target.tableName }),
    };
    const queue = new NotifierQueue({ client: target.documentClient, tableName: target.tableName, queue: new DynamoQueueStore({ client: target.documentClient, tableName: target.tableName }) });
    const consent = new AuthorizationService({ store: stores.authorizations, withdraw: providerSetsWithdrawal(queue) });
    return sub.run({ ...stores, consent }, o, io, { clientId, fingerprint, providerId, ...(facts === undefined ? {} : { facts }), ...(oldFingerprint === undefined ? {} : { oldFingerprint }) });
  });
}

/** Every recipient with a certificate: a scan of the whole table (RecipientCertificates.listAll). */
async function listAll(certificates: RecipientCertificates, o: Options, io: Io): Promise<void> {
  const { recipients, readUnits } = await certificates.listAll();
  if (o.json) {
    io.out(JSON.stringify({ recipients: recipients.map((r) => ({ clientId: r.clientId, certificates: r.certificates.map(listedJson) })), readUnits }));
    return;
  }
  const count = recipients.reduce((n, r) => n + r.certificates.length, 0);
  if (recipients.length === 0) io.out('No recipient has a registered certificate');
  else {
    const rows = recipients.flatMap((r) => r.certificates.map((c) => [r.clientId, c.fingerprint, c.revoked ? 'revoked' : 'active', c.facts?.subject ?? 'unknown', expiryText(c.facts)]));
    for (const line of table(['RECIPIENT', 'FINGERPRINT', 'STATE', 'SUBJECT', 'EXPIRES'], rows)) io.out(line);
  }
  io.err(`${recipients.length} recipient(s), ${count} certificate(s); the scan read ${readUnits} read unit(s)`);
}

/** A certificate's subject and expiry in JSON: null when not on record. */
function factsJson(facts: CertificateFacts | undefined) {
  return { subject: facts?.subject ?? null, notAfter: facts === undefined ? null : new Date(facts.notAfter).toISOString() };
}

function listedJson(c: { fingerprint: string; addedAt: number; revoked: boolean; facts?: CertificateFacts }) {
  return { fingerprint: c.fingerprint, addedAt: new Date(c.addedAt).toISOString(), revoked: c.revoked, ...factsJson(c.facts) };
}

function certificateJson(d: CertificateDetail) {
  return {
    fingerprint: d.fingerprint,
    addedAt: new Date(d.addedAt).toISOString(),
    state: d.state,
    ...factsJson(d.facts),
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
