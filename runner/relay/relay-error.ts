import { AirlockError } from "../../core/errors.ts";

/** The git relay could not prepare, commit or push; nothing was published. */
export class RelayError extends AirlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("relay", message, options);
    this.name = "RelayError";
  }
}
