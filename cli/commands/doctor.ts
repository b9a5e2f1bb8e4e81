/**
 * `setpoll doctor`: the smoke test of a deployment (or of the local stack), one line per check
 * (cli/doctor-checks.ts), `--json` for scripts, exit 1 when a check fails.
 */
import { positiveInteger, type OptionsConfig } from '../args.ts';
import { RECIPIENT_OPTIONS, parseWithRecipient, recipientOf } from '../recipient-flag.ts';
import { runDoctor, type DoctorTarget, type StepResult } from '../doctor-checks.ts';
import { CliFailure } from '../errors.ts';
import type { Io } from '../io.ts';
import { DEFAULT_POLL_PATH } from '../../lambdas/contract.ts';
import { API_COMMAND_OPTIONS, RECIPIENT_API_HELP, helpFooter, httpsUrl, resolveApiTarget } from '../target.ts';

const COMMAND = 'doctor';
const DEFAULT_TIMEOUT_SECONDS = 10;

export const DOCTOR_HELP = `Usage: setpoll doctor [--json] [options]

Checks, step by step, that a recipient can use the deployment (default: the local stack), and
prints one line per step: OK, FAIL or SKIP, and what was found.

  dns          the API's, the token endpoint's and the public JWKS's host names resolve
  tls          a TLS 1.2+ handshake with the client certificate, and the API accepts it
  tls-1.1      TLS 1.1 is refused (SKIP when this machine's OpenSSL cannot offer it)
  mtls         without a client certificate the API refuses (handshake or 403)
  token        the token endpoint issues an access token (client credentials over mTLS)
  jwks         the SET verification keys at <origin>/jwks.json (public members only)
  public-jwks  the same keys without a client certificate, when a public JWKS URL is known
  poll         an acknowledge-only poll {"returnImmediately":true,"maxEvents":0} (RFC 8936
               §2.4) is answered 200 with no SETs: it changes nothing in the queue

Options:
  -r, --recipient ID     the recipient: one of local.json's clients (default: the first); with
                         --url, the client_id sent to the token endpoint (default: the
                         certificate's CN)
  --scope S              the scope asked of the token endpoint (default: the server's default)
  --jwks-url URL         the mTLS JWKS (default: local.json's jwksUrl; with --url,
                         <origin>/jwks.json)
  --public-jwks-url URL  the JWKS served without client certificates (default: local.json's
                         publicJwksUrl; with --url, none: the step is skipped)
  --timeout SECONDS      per step (default: ${DEFAULT_TIMEOUT_SECONDS})
${helpFooter(25, RECIPIENT_API_HELP, 'one JSON object: {"ok","target","steps":[{"step","status","detail","ms"}]}')}

Exit codes: 0 every check passed (or was skipped), 1 a check failed, 2 usage error.`;

const OPTIONS = {
  ...API_COMMAND_OPTIONS,
  ...RECIPIENT_OPTIONS,
  scope: { type: 'string' },
  'jwks-url': { type: 'string' },
  'public-jwks-url': { type: 'string' },
  timeout: { type: 'string' },
} as const satisfies OptionsConfig;

const LABEL = { ok: 'OK', fail: 'FAIL', skip: 'SKIP' } as const;

export async function doctorCommand(args: readonly string[], io: Io): Promise<void> {
  const { values: o, positionals } = parseWithRecipient(COMMAND, args, OPTIONS);
  if (o.help) {
    io.out(DOCTOR_HELP);
    return;
  }
  const timeoutMs = (positiveInteger(o.timeout, 'timeout', COMMAND) ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  const client = recipientOf(o, positionals, COMMAND);
  const target = await resolveTarget({ ...o, ...(client === undefined ? {} : { client }) });
  const steps = await runDoctor(target, { timeoutMs });
  const failed = steps.filter((s) => s.status === 'fail');

  if (o.json) {
    io.out(JSON.stringify({ ok: failed.length === 0, target: describeTarget(target), steps }));
  } else {
    const width = Math.max(...steps.map((s) => s.step.length));
    for (const s of steps) io.out(line(s, width));
    io.err(`${steps.length} checks against ${target.pollUrl.origin} as ${target.clientId}: ${summary(steps)}`);
  }
  if (failed.length > 0) throw new CliFailure(`${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((s) => s.step).join(', ')} (see docs/deploy.md, Troubleshooting)`);
}

function line(s: StepResult, width: number): string {
  return `${LABEL[s.status].padEnd(4)}  ${s.step.padEnd(width)}  ${s.detail}`;
}

function summary(steps: readonly StepResult[]): string {
  const count = (status: StepResult['status']) => steps.filter((s) => s.status === status).length;
  return `${count('ok')} OK, ${count('fail')} failed, ${count('skip')} skipped`;
}

function describeTarget(t: DoctorTarget): Record<string, string> {
  return {
    pollUrl: t.pollUrl.href,
    jwksUrl: t.jwksUrl.href,
    tokenUrl: t.tokenUrl.href,
    clientId: t.clientId,
    ...(t.publicJwksUrl ? { publicJwksUrl: t.publicJwksUrl.href } : {}),
  };
}

async function resolveTarget(o: ReturnType<typeof parseWithRecipient<typeof OPTIONS>>['values']): Promise<DoctorTarget> {
  const target = await resolveApiTarget(o, COMMAND, 'recipient');
  const jwksUrl = o['jwks-url'] === undefined ? undefined : httpsUrl(o['jwks-url'], 'jwks-url', COMMAND);
  const publicJwksUrl = o['public-jwks-url'] === undefined ? undefined : httpsUrl(o['public-jwks-url'], 'public-jwks-url', COMMAND);
  const common = { tokenUrl: target.tokenUrl, clientId: target.clientId, identity: target.identity, scope: o.scope };
  if (target.kind === 'deployment') {
    // As setpoll poll: a bare origin (SETPOLL_URL shared with destinations and notify) means the default poll path.
    const pollUrl = target.url.pathname === '/' ? new URL(DEFAULT_POLL_PATH, target.url) : target.url;
    return { ...common, pollUrl, jwksUrl: jwksUrl ?? new URL('/jwks.json', pollUrl.origin), publicJwksUrl };
  }
  const { config } = target.local;
  return {
    ...common,
    pollUrl: new URL(config.pollUrl),
    jwksUrl: jwksUrl ?? new URL(config.jwksUrl),
    publicJwksUrl: publicJwksUrl ?? (typeof config.publicJwksUrl === 'string' ? new URL(config.publicJwksUrl) : undefined),
  };
}
