/**
 * Misuse by the code or the deployment, never by a caller: a missing or malformed setting, a wrong
 * argument to a library call. A TypeError (as such misuse was always thrown), but one no handler
 * mistakes for a bad request: it is a 500 wherever it surfaces. Here, not in core/errors.ts, so the
 * store layer can throw it without importing the protocol core.
 */
export class ProgrammerError extends TypeError {
  override readonly name = 'ProgrammerError';
}
