import { join } from 'node:path';
import { expect } from 'vitest';
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

/** A usage mistake: the arguments, and what the first line of stderr must say about them. */
export type UsageCase = readonly [args: readonly string[], message: string];

/**
 * Each run (in the order of `cases`) is a usage error: exit code 2, nothing on stdout, the case's
 * message on the first line of stderr, and `usageHint` (a pointer to --help) ending it.
 */
export function expectUsageErrors(cases: readonly UsageCase[], runs: readonly Run[], usageHint: RegExp): void {
  expect(runs).toHaveLength(cases.length);
  runs.forEach((run, i) => {
    expect({ args: cases[i]![0], code: run.code, stdout: run.stdout, firstLine: run.stderr.split('\n')[0] }).toEqual({
      args: cases[i]![0],
      code: 2,
      stdout: '',
      firstLine: expect.stringContaining(cases[i]![1]),
    });
    expect(run.stderr).toMatch(usageHint);
  });
}
