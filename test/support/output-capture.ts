/**
 * Captures what this process writes to stdout and stderr, where the Powertools logger writes its log
 * lines and its metrics (EMF) lines, from start() until stop().
 */
export class OutputCapture {
  private readonly chunks: string[] = [];
  private restore: (() => void) | undefined;

  start(): void {
    if (this.restore) return;
    const { stdout, stderr } = process;
    const writes = { out: stdout.write, err: stderr.write };
    const capture = ((chunk: unknown) => (this.chunks.push(String(chunk)), true)) as typeof stdout.write;
    stdout.write = capture;
    stderr.write = capture;
    this.restore = () => {
      stdout.write = writes.out;
      stderr.write = writes.err;
    };
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** A mark of how much has been written so far, for text(since). */
  mark(): number {
    return this.chunks.length;
  }

  /** Everything written (since a mark), as one text. */
  text(since = 0): string {
    return this.chunks.slice(since).join('');
  }

  /** The lines written so far that are JSON objects (log lines and EMF lines alike), parsed. */
  jsonLines(): Record<string, unknown>[] {
    return this.text()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
