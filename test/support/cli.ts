import { main } from '../../cli/main.ts';

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
