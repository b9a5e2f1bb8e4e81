/** `setpoll recipients ...`: which client certificates identify which recipient. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { thumbprintOfPem } from '../../lambdas/core/certificate.ts';
import { CertificateInUse, RecipientRegistry } from '../../lambdas/store/recipient-registry.ts';
import { COMMON_OPTIONS, parseOptions, required } from '../args.ts';
import { TARGET_HELP, TARGET_OPTIONS, withTarget } from '../connection.ts';
import { CliFailure, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';

const COMMAND = 'recipients';

export const RECIPIENTS_HELP = `Usage: setpoll recipients <subcommand> [options]

Subcommands:
  add      --client-id ID (--cert FILE.pem | --fingerprint HEX)   register a client certificate
  remove   --client-id ID (--cert FILE.pem | --fingerprint HEX)   unregister it
  list     --client-id ID                                         list a recipient's certificates
  revoke   (--cert FILE.pem | --fingerprint HEX) [--reason TEXT]  deny a certificate everywhere
  unrevoke (--cert FILE.pem | --fingerprint HEX)                  lift a revocation

A certificate is identified by the SHA-256 fingerprint of its DER encoding (64 hex digits).
A recipient may hold several certificates (rotation: add the new one, then remove the old).
Revocations apply once the poll handlers' identity cache expires (at most 30 s).

Options:
  --json       machine-readable output
  -h, --help   show this help

${TARGET_HELP}`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...TARGET_OPTIONS,
  'client-id': { type: 'string' },
  cert: { type: 'string' },
  fingerprint: { type: 'string' },
  reason: { type: 'string' },
} as const;

type Options = ReturnType<typeof parse>;
const parse = (args: readonly string[]) => parseOptions(COMMAND, args, OPTIONS);

interface Subcommand {
  readonly needsClientId: boolean;
  readonly needsCertificate: boolean;
  run(registry: RecipientRegistry, o: Options, io: Io, ids: { clientId: string; fingerprint: string }): Promise<void>;
}

const SUBCOMMANDS: Record<string, Subcommand> = {
  add: {
    needsClientId: true,
    needsCertificate: true,
    async run(registry, o, io, { clientId, fingerprint }) {
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
    async run(registry, o, io, { clientId, fingerprint }) {
      if (!(await registry.remove(clientId, fingerprint))) throw new CliFailure(`${fingerprint} is not registered to ${clientId}`);
      if (o.json) io.out(JSON.stringify({ clientId, fingerprint, outcome: 'removed' }));
      else io.out(`Removed ${fingerprint} from ${clientId}`);
    },
  },
  list: {
    needsClientId: true,
    needsCertificate: false,
    async run(registry, o, io, { clientId }) {
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
  revoke: {
    needsClientId: false,
    needsCertificate: true,
    async run(registry, o, io, { fingerprint }) {
      await registry.revoke(fingerprint, o.reason);
      if (o.json) io.out(JSON.stringify({ fingerprint, outcome: 'revoked' }));
      else io.out(`Revoked ${fingerprint} (running servers refuse it within 30 s)`);
    },
  },
  unrevoke: {
    needsClientId: false,
    needsCertificate: true,
    async run(registry, o, io, { fingerprint }) {
      await registry.unrevoke(fingerprint);
      if (o.json) io.out(JSON.stringify({ fingerprint, outcome: 'unrevoked' }));
      else io.out(`Lifted any revocation of ${fingerprint}`);
    },
  },
};

export async function recipientsCommand(args: readonly string[], io: Io): Promise<void> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) throw new UsageError('a subcommand is required: add, remove, list, revoke or unrevoke', COMMAND);
    io.out(RECIPIENTS_HELP);
    return;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub || !Object.hasOwn(SUBCOMMANDS, name)) throw new UsageError(`unknown subcommand ${JSON.stringify(name)}: use add, remove, list, revoke or unrevoke`, COMMAND);
  const o = parse(rest);
  if (o.help) {
    io.out(RECIPIENTS_HELP);
    return;
  }
  const clientId = sub.needsClientId ? required(o['client-id'], 'client-id', COMMAND) : '';
  if (sub.needsClientId && /\s/.test(clientId)) throw new UsageError('--client-id cannot contain whitespace', COMMAND);
  if (!sub.needsClientId && o['client-id'] !== undefined) throw new UsageError(`recipients ${name} does not take --client-id`, COMMAND);
  if (!sub.needsCertificate && (o.cert !== undefined || o.fingerprint !== undefined)) {
    throw new UsageError(`recipients ${name} takes no --cert or --fingerprint`, COMMAND);
  }
  if (o.reason !== undefined && name !== 'revoke') throw new UsageError('--reason is only for recipients revoke', COMMAND);
  const fingerprint = sub.needsCertificate ? await fingerprintOf(o.cert, o.fingerprint) : '';

  await withTarget(o, COMMAND, (target) => sub.run(new RecipientRegistry({ client: target.documentClient, tableName: target.tableName }), o, io, { clientId, fingerprint }));
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
export function normalizeFingerprint(raw: string): string {
  const hex = raw.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new UsageError('--fingerprint must be a SHA-256 fingerprint: 64 hex digits', COMMAND);
  return hex;
}
