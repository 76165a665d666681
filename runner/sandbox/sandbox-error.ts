import { AirlockError } from "../../core/errors.ts";

/** A sandbox could not be set up as the policy demands; nothing was started. */
export class SandboxError extends AirlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("sandbox", message, options);
    this.name = "SandboxError";
  }
}
