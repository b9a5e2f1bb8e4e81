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

const hex4 = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

// C0 controls but newline and tab, DEL, C1 controls (U+009B is a one-character CSI on some terminals).
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// Inside one value also newline, tab and the bidirectional overrides and isolates, which reorder what follows.
const VALUE_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A line with every control character that could move the cursor, recolour, retitle or clear an
 * operator's terminal written as `\uXXXX`: recipients and providers supply strings the CLI prints
 * (a recipient's setErrs description, a notification id), so none may reach the terminal raw. The
 * `\uXXXX` form is also a valid JSON escape, so a --json line stays valid JSON.
 */
export const terminalSafe = (line: string): string => line.replace(TERMINAL_CONTROLS, hex4);

/** One untrusted value on one line: also newlines, tabs and bidirectional controls are escaped. */
export const oneLine = (value: string): string => value.replace(VALUE_CONTROLS, hex4);

/** Wraps an Io so that nothing it writes carries a raw terminal control (see terminalSafe). */
export function terminalSafeIo(io: Io): Io {
  return { out: (line) => io.out(terminalSafe(line)), err: (line) => io.err(terminalSafe(line)) };
}
