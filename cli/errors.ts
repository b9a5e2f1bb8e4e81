/** The command line was wrong: exit code 2, with a pointer to --help. */
export class UsageError extends Error {
  readonly exitCode = 2;
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
    this.name = 'UsageError';
  }
}

/** The command could not do its work: exit code 1, message shown as is. */
export class CliFailure extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CliFailure';
  }
}
