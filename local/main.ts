/**
 * `npm start`: runs the local stack until Ctrl-C. State (PKI, signing key, DynamoDB Local data)
 * lives in `.setpoll/` and is reused by the next start.
 *
 * Options: --json-logs (or SETPOLL_LOG_FORMAT=json): JSON log lines instead of one readable line
 * per request (see logging.ts).
 *
 * Environment: SETPOLL_PORT (default 8443), SETPOLL_PUBLIC_JWKS_PORT (the listener without client
 * certificates; default SETPOLL_PORT + 1, or any free port when SETPOLL_PORT is 0), SETPOLL_STATE_DIR (default .setpoll),
 * SETPOLL_TABLE_NAME (default setpoll-local), SETPOLL_DYNAMODB_ENDPOINT (use a running DynamoDB
 * Local instead of starting one), and the SETPOLL_* poll settings (SETPOLL_LEASE_SECONDS,
 * SETPOLL_LONG_POLL_SECONDS, SETPOLL_MAX_EVENTS, SETPOLL_MAX_DELIVERY_ATTEMPTS, SETPOLL_ERRORED_SETS, ...).
 */
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ENV, TOOL_ENV } from '../lambdas/contract.ts';
import { assertAlgorithm, type SetAlgorithm } from '../lambdas/producer/signer.ts';
import { settingsFromEnv } from '../lambdas/core/settings.ts';
import { discoveryPath } from '../lambdas/ssf/vocabulary.ts';
import { localLogging, logFormatFrom } from './logging.ts';
import { DEFAULT_TABLE_NAME, startLocalStack, type LocalStack } from './stack.ts';

const DEFAULT_PORT = 8443;

function portFromEnv(raw: string | undefined, name = 'SETPOLL_PORT'): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`${name} must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

function publicJwksPort(): number {
  const raw = process.env[TOOL_ENV.publicJwksPort];
  if (raw !== undefined && raw !== '') return portFromEnv(raw, TOOL_ENV.publicJwksPort);
  const port = portFromEnv(process.env.SETPOLL_PORT);
  return port === 0 ? 0 : port + 1;
}

/** A path relative to the working directory when it is inside it, else absolute. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

function banner(stack: LocalStack): string {
  const { config, dynamo } = stack;
  const alpha = config.clients.find((c) => c.clientId === 'tpp-alpha') ?? config.clients[0];
  const s = config.settings;
  const lines = ['', 'setpoll local stack is ready. In another terminal:', ''];
  if (alpha) {
    lines.push(
      `  npx setpoll poll --follow                      receive ${alpha.clientId}'s SETs: verify, print, acknowledge`,
      `  npx setpoll publish --recipient ${alpha.clientId}       queue a SET for ${alpha.clientId}`,
      '  npx setpoll help                               every command',
      '',
    );
  }
  lines.push(
    `  DynamoDB Local  ${config.dynamodb.endpoint}${dynamo ? ` (started here, data in ${display(join(stack.dir, 'dynamodb'))})` : ' (already running)'}`,
    `  Table           ${config.dynamodb.tableName}`,
    `  Poll URL        ${config.pollUrl}   (mTLS: client certificate required)`,
    `  JWKS URL        ${config.jwksUrl}   (SET verification keys)`,
    `  Public JWKS     ${config.publicJwksUrl}   (the same keys, no client certificate)`,
    `  Token URL       ${config.tokenUrl}   (client credentials, tls_client_auth)`,
    `  Management API  ${config.issuer}/destinations, ${config.issuer}/notifications   (Data Providers)`,
    `  SSF discovery   ${new URL(config.issuer).origin}${discoveryPath(config.issuer)}   (SSF receivers; also at the public JWKS origin)`,
    `  Settings        leaseSeconds=${s.leaseSeconds} longPollSeconds=${s.longPollSeconds} maxEvents=${s.maxEvents} maxDeliveryAttempts=${s.maxDeliveryAttempts}`,
    `  CA certificate  ${display(config.caCertFile)}`,
    `  Clients         ${[...config.clients, ...config.providers].map((c) => c.clientId).join(', ')}   (certificates and keys in ${display(dirname(config.caCertFile))}/clients)`,
    `  Config          ${display(stack.configFile)}`,
    '',
    'Logs: one line per request (SETPOLL_LOG_FORMAT=json for JSON). Press Ctrl-C to stop.',
    '',
  );
  return lines.join('\n');
}

/**
 * One Ctrl-C reaches this process more than once: the terminal signals the whole foreground
 * process group (npm, its shell, node and DynamoDB Local's java), and npm relays it to its child
 * as well. A repeat within this window is that echo, not a second press.
 */
const SIGNAL_ECHO_MS = 1500;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'json-logs': { type: 'boolean' } }, strict: true });
  const format = logFormatFrom(process.env, values['json-logs'] ?? false);
  // EMF metrics are CloudWatch's business; on a terminal they are two JSON blobs per request.
  if (format === 'text') process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const logging = localLogging(format);
  const stack = await startLocalStack({
    dir: process.env.SETPOLL_STATE_DIR || '.setpoll',
    port: portFromEnv(process.env.SETPOLL_PORT),
    publicJwksPort: publicJwksPort(),
    tableName: process.env.SETPOLL_TABLE_NAME || DEFAULT_TABLE_NAME,
    settings: settingsFromEnv(process.env),
    ...signingAlgFromEnv(),
    logger: logging.logger,
    onRequestDone: logging.onRequestDone,
    ...(process.env.SETPOLL_DYNAMODB_ENDPOINT ? { dynamoEndpoint: process.env.SETPOLL_DYNAMODB_ENDPOINT } : {}),
  });
  console.log(banner(stack));

  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stoppingSince !== undefined) {
      if (performance.now() - stoppingSince < SIGNAL_ECHO_MS) return;
      console.error(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stoppingSince = performance.now();
    console.log(`\n${signal}: stopping the local stack...`);
    stack.stop().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Stopping failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') console.error(`setpoll: port ${process.env.SETPOLL_PORT || DEFAULT_PORT} is in use; set SETPOLL_PORT to another port (0 = any free port)`);
  else console.error('setpoll: the local stack did not start:', e instanceof TypeError ? e.message : e);
  process.exit(1);
});

/** SETPOLL_SIGNING_ALG, as a deployment's signingAlg: PS256 (default), RS256 or ES256. */
function signingAlgFromEnv(): { signingAlg?: SetAlgorithm } {
  const alg = process.env[ENV.signingAlg];
  if (alg === undefined || alg === '') return {};
  assertAlgorithm(alg);
  return { signingAlg: alg };
}
