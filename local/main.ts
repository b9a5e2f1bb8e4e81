/**
 * `npm start`: runs the local stack until Ctrl-C. State (PKI, signing key, DynamoDB Local data)
 * lives in `.setpoll/` and is reused by the next start.
 *
 * Environment: SETPOLL_PORT (default 8443), SETPOLL_STATE_DIR (default .setpoll),
 * SETPOLL_TABLE_NAME (default setpoll-local), SETPOLL_DYNAMODB_ENDPOINT (use a running DynamoDB
 * Local instead of starting one), and the SETPOLL_* poll settings (SETPOLL_LEASE_SECONDS,
 * SETPOLL_LONG_POLL_SECONDS, SETPOLL_MAX_EVENTS, SETPOLL_MAX_DELIVERY_ATTEMPTS, ...).
 */
import { join, relative } from 'node:path';
import { settingsFromEnv } from '../lambdas/core/settings.ts';
import { DEFAULT_TABLE_NAME, startLocalStack, type LocalStack } from './stack.ts';

const DEFAULT_PORT = 8443;

function portFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`SETPOLL_PORT must be a port number, got ${JSON.stringify(raw)}`);
  return port;
}

/** Quotes a path for a POSIX shell only when it needs it. */
function sh(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
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
  const lines = [
    '',
    'setpoll local stack is ready',
    '',
    `  DynamoDB Local  ${config.dynamodb.endpoint}${dynamo ? ` (started here, data in ${display(join(stack.dir, 'dynamodb'))})` : ' (already running)'}`,
    `  Table           ${config.dynamodb.tableName}`,
    `  Poll URL        ${config.pollUrl}   (mTLS: client certificate required)`,
    `  JWKS URL        ${config.jwksUrl}   (SET verification keys)`,
    `  Token URL       ${config.tokenUrl}   (client credentials, tls_client_auth)`,
    `  Issuer          ${config.issuer}`,
    `  Settings        leaseSeconds=${s.leaseSeconds} longPollSeconds=${s.longPollSeconds} maxEvents=${s.maxEvents} maxDeliveryAttempts=${s.maxDeliveryAttempts}`,
    `  CA certificate  ${config.caCertFile}`,
    ...config.clients.flatMap((c) => [`  ${c.clientId.padEnd(15)} cert ${c.certFile}`, `  ${''.padEnd(15)} key  ${c.keyFile}`]),
    `  Management API  ${config.issuer}/destinations, ${config.issuer}/notifications   (Data Providers: notifier scopes)`,
    ...config.providers.flatMap((c) => [`  ${c.clientId.padEnd(15)} cert ${c.certFile}`, `  ${''.padEnd(15)} key  ${c.keyFile}`]),
    `  Config          ${stack.configFile}`,
    '',
  ];
  if (alpha) {
    lines.push(
      `Poll as ${alpha.clientId}: get a certificate-bound token, then poll with it:`,
      `  TOKEN=$(curl -s --cacert ${sh(config.caCertFile)} --cert ${sh(alpha.certFile)} --key ${sh(alpha.keyFile)} -d grant_type=client_credentials -d scope=accounts -d client_id=${alpha.clientId} ${config.tokenUrl} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
      `  curl --cacert ${sh(config.caCertFile)} --cert ${sh(alpha.certFile)} --key ${sh(alpha.keyFile)} -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"returnImmediately":true}' ${config.pollUrl}`,
      '',
      `Publish a SET to ${alpha.clientId} (in another terminal):`,
      `  npx setpoll publish --recipient ${alpha.clientId}`,
      '',
    );
  }
  const provider = config.providers[0];
  if (provider) {
    const tls = `--cacert ${sh(config.caCertFile)} --cert ${sh(provider.certFile)} --key ${sh(provider.keyFile)}`;
    lines.push(
      `Manage notifications as ${provider.clientId}: a token with the notifier scopes, then register a destination:`,
      `  PTOKEN=$(curl -s ${tls} -d grant_type=client_credentials -d 'scope=notifications:write notifications:read' -d client_id=${provider.clientId} ${config.tokenUrl} | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`,
      `  curl ${tls} -H "authorization: Bearer $PTOKEN" -H 'content-type: application/json' -d '{"clientId":"${alpha?.clientId ?? 'tpp-alpha'}"}' ${config.issuer}/destinations`,
      '',
    );
  }
  lines.push('Press Ctrl-C to stop.', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const stack = await startLocalStack({
    dir: process.env.SETPOLL_STATE_DIR || '.setpoll',
    port: portFromEnv(process.env.SETPOLL_PORT),
    tableName: process.env.SETPOLL_TABLE_NAME || DEFAULT_TABLE_NAME,
    settings: settingsFromEnv(process.env),
    ...(process.env.SETPOLL_DYNAMODB_ENDPOINT ? { dynamoEndpoint: process.env.SETPOLL_DYNAMODB_ENDPOINT } : {}),
  });
  console.log(banner(stack));

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
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
