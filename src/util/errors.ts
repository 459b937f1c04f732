/**
 * The one error type the library throws for bad input or a failed run. `code` is stable and
 * machine-readable (tests and the CLI switch on it); the message says what was wrong and what to do.
 */
export class PiatError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PiatError';
  }
}

/** Throws a PiatError naming `what` unless `ok`. */
export function check(ok: boolean, code: string, message: string): asserts ok {
  if (!ok) throw new PiatError(code, message);
}

/** Picks `value` from `allowed`, or throws naming the option, the bad value and the choices. */
export function oneOf<T extends string>(option: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new PiatError('unknown-option', `Unknown ${option} '${value}'. Expected one of: ${allowed.join(', ')}.`);
}
