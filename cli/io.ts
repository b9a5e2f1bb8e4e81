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
