/** Where a command writes; a test can capture it. */
export interface Io {
  /** Results: one line per call. */
  out(line: string): void;
  /** Notes, warnings and errors: one line per call. */
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/**
 * A reader that stops early (`setpoll … | head -1`) closes the pipe, and the next write fails with
 * EPIPE, emitted as an 'error' event that would crash the process with a stack trace. The output is
 * no longer wanted, so the command ends quietly with 0, as the reader asked. Any other error on
 * the stream is still thrown.
 */
export function endQuietlyWhenOutputCloses(stream: NodeJS.WritableStream = process.stdout, exit: (code: number) => void = process.exit): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(0);
  });
}
