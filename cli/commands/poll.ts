/**
 * `setpoll poll`: be a recipient. Polls the transmitter over mutual TLS with a client-credentials
 * token, verifies each SET (signature, typ, iss, aud, iat), prints the valid ones' claims and
 * acknowledges them; invalid ones are reported back in setErrs and printed to stderr.
 */
import { DEFAULT_POLL_PATH } from '../../lambdas/contract.ts';
import { CLIENT_ID_RULE, isClientId } from '../../lambdas/shared/client-id.ts';
import { createRecipient, type RecipientOptions } from '../../recipient/recipient.ts';
import { Poller } from '../../recipient/poller.ts';
import { NetworkError, PollFailed, RecipientError, TokenRequestFailed } from '../../recipient/errors.ts';
import { positiveInteger, type OptionsConfig } from '../args.ts';
import { CliFailure, UsageError } from '../errors.ts';
import type { Io } from '../io.ts';
import { WaitingIndicator, limitRequests, showsWaitingIndicator } from '../poll-requests.ts';
import { RECIPIENT_OPTIONS, parseWithRecipient, recipientOf } from '../recipient-flag.ts';
import { API_COMMAND_OPTIONS, RECIPIENT_API_HELP, httpsUrl, resolveApiTarget } from '../target.ts';

const COMMAND = 'poll';
/** Without --follow a run is a one-off: give up after this many failed polls in a row. */
const DRAIN_RETRIES = 3;

export const POLL_HELP = `Usage: setpoll poll [--recipient ID] [--follow] [--json | --raw] [--max N | --once]
                    [--no-ack] [options]

Polls as a recipient: verifies each SET (signature against the transmitter's keys, typ
secevent+jwt, iss, aud, iat), prints the claims of the valid ones and acknowledges them on the
next request. Invalid SETs are reported back in setErrs (RFC 8935 codes) and printed to stderr.
Without --follow it polls until the queue is empty, then exits.

Options:
  -r, --recipient ID the recipient: one of local.json's clients (default: the first, tpp-alpha);
                     with --url, the client_id sent to the token endpoint (default: the
                     certificate's CN)
  -f, --follow       long-poll until interrupted (Ctrl-C); what was printed is acknowledged
                     before exiting
  --json             one JSON object per SET and line: {"jti","provider","claims"} (provider null
                     for the transmitter's own SETs)
  --raw              each SET as received, the signed compact JWS, one per line (verified first)
  --no-ack           peek: acknowledge nothing and report nothing; the transmitter delivers the
                     SETs again once their lease ends
  --max N            stop after N SETs (the rest of a batch is delivered again after its lease)
  --once             one poll request, then exit (with what it brought acknowledged)
  --max-events N     at most N SETs per poll (default: the transmitter's cap)
  --scope S          the scope asked of the token endpoint (default: the server's default)
  --issuer URL       the SETs' expected iss (default: the local stack's issuer; with --url, the
                     origin of --url)
  --audience AUD     the SETs' expected aud (default: the client id, as setpoll addresses them)
  --provider ID      accept only SETs from this Data Provider (repeatable); others are reported
                     back as access_denied. SETs of the transmitter's own producers (no provider)
                     are accepted unless --providers-only
  --providers-only   refuse SETs that name no Data Provider
  -h, --help         show this help

With --follow on a terminal, a line on stderr says when it is waiting for SETs.

Each SET is printed with the Data Provider that sent it (the signed data_provider claim), or
"transmitter" for the transmitter's own SETs.

${RECIPIENT_API_HELP}

Keys:
  --jwks-url URL     the transmitter's SET signing keys, when they are published apart from the
                     poll endpoint (default: local.json's jwksUrl; with --url, <origin>/jwks.json)`;

const OPTIONS = {
  ...API_COMMAND_OPTIONS,
  ...RECIPIENT_OPTIONS,
  follow: { type: 'boolean', short: 'f' },
  'max-events': { type: 'string' },
  scope: { type: 'string' },
  'jwks-url': { type: 'string' },
  issuer: { type: 'string' },
  audience: { type: 'string' },
  provider: { type: 'string', multiple: true },
  'providers-only': { type: 'boolean' },
  raw: { type: 'boolean' },
  'no-ack': { type: 'boolean' },
  max: { type: 'string' },
  once: { type: 'boolean' },
} as const satisfies OptionsConfig;

type Options = ReturnType<typeof parseWithRecipient<typeof OPTIONS>>['values'];

/** Where to poll and as whom: everything createRecipient needs but the transport hooks. */
type Target = Pick<RecipientOptions, 'pollUrl' | 'tokenUrl' | 'keys' | 'clientId' | 'identity' | 'issuer' | 'audience' | 'scope'> & {
  readonly local?: { readonly configFile: string };
};

/**
 * `signal` stops a --follow run as Ctrl-C does (for callers in the same process, such as tests);
 * SIGINT and SIGTERM stop it too.
 */
export async function pollCommand(args: readonly string[], io: Io, signal?: AbortSignal): Promise<void> {
  const { values: o, positionals } = parseWithRecipient(COMMAND, args, OPTIONS);
  if (o.help) {
    io.out(POLL_HELP);
    return;
  }
  if (o.json && o.raw) throw new UsageError('--json and --raw cannot be used together', COMMAND);
  if (o.once && (o.follow || o.max !== undefined)) throw new UsageError(`--once cannot be used with --${o.follow ? 'follow' : 'max'}: it makes one poll request`, COMMAND);
  const max = positiveInteger(o.max, 'max', COMMAND);
  const perPoll = positiveInteger(o['max-events'], 'max-events', COMMAND);
  // No poll asks for more than --max: the rest of a batch would wait out a lease for nothing.
  const maxEvents = max === undefined ? perPoll : Math.min(max, perPoll ?? max);
  for (const p of o.provider ?? []) if (!isClientId(p)) throw new UsageError(`--provider ${JSON.stringify(p)} is not valid: a client id is ${CLIENT_ID_RULE}`, COMMAND);
  const client = recipientOf(o, positionals, COMMAND);
  const target = await resolveTarget({ ...o, ...(client === undefined ? {} : { client }) });
  const recipient = createRecipient({
    ...target,
    ...(o.provider ? { providers: o.provider } : {}),
    ...(o['providers-only'] ? { acceptDirect: false } : {}),
  });

  let received = 0;
  let rejected = 0;
  const stop = new AbortController();
  const indicator = showsWaitingIndicator({
    follow: o.follow === true,
    json: o.json === true,
    raw: o.raw === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    term: process.env.TERM,
  })
    ? new WaitingIndicator(process.stderr)
    : undefined;
  const poller = new Poller({
    client: limitRequests(recipient.client, {
      peek: o['no-ack'] === true,
      once: o.once === true,
      stop,
      ...(indicator ? { onPollStart: () => indicator.show(), onPollEnd: () => indicator.hide() } : {}),
    }),
    verifier: recipient.verifier,
    ...(maxEvents === undefined ? {} : { maxEvents }),
    maxRetries: o.follow ? Infinity : DRAIN_RETRIES,
    handle: (set) => {
      received++;
      if (received === max) stop.abort();
      if (o.raw) {
        io.out(set.set);
      } else if (o.json) {
        io.out(JSON.stringify({ jti: set.jti, provider: set.provider ?? null, claims: set.claims }));
      } else {
        io.out(`SET ${set.jti} from ${set.provider === undefined ? 'transmitter' : `provider ${set.provider}`}`);
        io.out(JSON.stringify(set.claims, null, 2));
      }
    },
    onRejected: (jti, error) => {
      rejected++;
      io.err(`rejected ${jti}: ${error.code}: ${error.message}`);
    },
    onRetry: (error, delayMs) => io.err(`poll: ${describe(error, target)}; retrying in ${(delayMs / 1000).toFixed(1)} s`),
  });

  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  signal?.addEventListener('abort', onSignal, { once: true });
  try {
    await poller.run({ signal: stop.signal, untilEmpty: !o.follow });
  } catch (error) {
    if (error instanceof RecipientError) throw new CliFailure(describe(error, target), { cause: error });
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    signal?.removeEventListener('abort', onSignal);
    recipient.close();
  }
  const sets = `${received} SET${received === 1 ? '' : 's'}`;
  if (o.json) return;
  if (o['no-ack']) io.err(`${sets} received, none acknowledged (--no-ack): they are delivered again once their lease ends; ${rejected} rejected, not reported`);
  else io.err(`${sets} received and acknowledged, ${rejected} rejected`);
}

function describe(error: RecipientError, target: Target): string {
  if (error instanceof NetworkError) return `${error.message}${target.local ? ' (is the local stack running? npm start)' : ''}`;
  if (error instanceof PollFailed) {
    return `the poll endpoint answered HTTP ${error.status}${error.err ? `: ${error.err}${error.description ? `: ${error.description}` : ''}` : ''}`;
  }
  if (error instanceof TokenRequestFailed) return error.message;
  return `${error.code}: ${error.message}`;
}

async function resolveTarget(o: Options): Promise<Target> {
  const audience = o.audience;
  if (audience !== undefined && audience.trim() === '') throw new UsageError('--audience cannot be empty', COMMAND);
  if (o.issuer !== undefined && o.issuer.trim() === '') throw new UsageError('--issuer cannot be empty', COMMAND);
  const target = await resolveApiTarget(o, COMMAND, 'recipient');
  const jwksUrl = o['jwks-url'] === undefined ? undefined : httpsUrl(o['jwks-url'], 'jwks-url', COMMAND);
  const common = {
    tokenUrl: target.tokenUrl,
    clientId: target.clientId,
    identity: target.identity,
    // setpoll addresses each SET to its recipient's client id (Publisher, Notifier).
    audience: audience ?? target.clientId,
    ...(o.scope === undefined ? {} : { scope: o.scope }),
  };
  if (target.kind === 'deployment') {
    // A bare origin (SETPOLL_URL shared with destinations and notify) polls the default path.
    const pollUrl = target.url.pathname === '/' ? new URL(DEFAULT_POLL_PATH, target.url) : target.url;
    // setpoll's default SET issuer is https://<domainName>: the origin the poll endpoint is served on.
    return { ...common, pollUrl, keys: jwksUrl ?? new URL('/jwks.json', pollUrl.origin), issuer: o.issuer ?? pollUrl.origin };
  }
  const { config, configFile } = target.local;
  if (typeof config.jwksUrl !== 'string') throw new CliFailure(`${configFile} has no jwksUrl: restart the local stack (npm start)`);
  return { ...common, pollUrl: new URL(config.pollUrl), keys: jwksUrl ?? new URL(config.jwksUrl), issuer: o.issuer ?? config.issuer, local: { configFile } };
}
