/**
 * A tool call the agent refuses or cannot do. Its message goes back to the model as the
 * tool result, so it says what to do instead; it never ends the run.
 */
export class ToolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ToolError";
  }
}
