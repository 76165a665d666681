/**
 * Typed errors. Code matches on `code`, never on message text; adapters convert
 * outside failures once and keep the original as `cause`.
 */
export class AirlockError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AirlockError";
    this.code = code;
  }
}

/** Bad input from an operator (flags, environment, config files): exit 2, no stack trace. */
export class UsageError extends AirlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("usage", message, options);
    this.name = "UsageError";
  }
}
