import { join } from 'node:path';
import { main } from '../../cli/main.ts';
import { writeLocalConfig } from '../../local/config.ts';

/** What one CLI run printed, and its exit code. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in this process (same code, no process start-up), capturing its output. */
export async function inProcess(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { out: (line) => void (stdout += `${line}\n`), err: (line) => void (stderr += `${line}\n`) });
  return { code, stdout, stderr };
}

/**
 * A local.json in `dir` naming only a table of the shared DynamoDB Local (no server runs): the
 * `--config` arguments for commands that act on DynamoDB.
 */
export async function configForTable(dir: string, table: { readonly endpoint: string; readonly tableName: string }): Promise<string[]> {
  const configFile = join(dir, 'local.json');
  await writeLocalConfig(configFile, {
    pollUrl: 'https://localhost:8443/events',
    jwksUrl: 'https://localhost:8443/jwks.json',
    publicJwksUrl: 'https://localhost:8444/jwks.json',
    tokenUrl: 'https://localhost:8443/oauth/token',
    caCertFile: join(dir, 'ca.pem'),
    issuer: 'https://bank.example',
    clients: [],
    providers: [],
    dynamodb: { endpoint: table.endpoint, tableName: table.tableName },
    settings: { leaseSeconds: 30, longPollSeconds: 1, maxEvents: 100, maxDeliveryAttempts: 0 },
  });
  return ['--config', configFile];
}
