/**
 * Why the Action stopped: a bad input, a refused grant, a failed docker step. `input`
 * names the input at fault, so the job log says which line of the workflow to fix.
 */
export class ActionError extends Error {
  readonly code: "invalid_input" | "grants_refused" | "docker_failed" | "report_failed";
  readonly input: string | undefined;
  constructor(code: ActionError["code"], message: string, options: { input?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ActionError";
    this.code = code;
    this.input = options.input;
  }
}
