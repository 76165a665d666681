import { editFile } from "./edit-file.ts";
import { listFiles } from "./list-files.ts";
import { readFile } from "./read-file.ts";
import { requestCapability } from "./request-capability.ts";
import { resolveWorkspacePath } from "./resolve-workspace-path.ts";
import { runCommand, type RunCommandLimits } from "./run-command.ts";
import { ToolError } from "./tool-error.ts";
import { writeFile } from "./write-file.ts";

export interface ToolContext {
  workspaceRoot: string;
  /** The bridge's origin, e.g. http://127.0.0.1:4000, for capability requests. */
  bridgeUrl: string;
  apiKey: string;
  runCommandLimits: RunCommandLimits;
  /** Aborted when the agent is told to stop: a running command is killed. */
  signal?: AbortSignal;
}

export type ToolOutcome =
  /** `changed`: the workspace path a successful write or edit changed. */
  { kind: "result"; text: string; ok: boolean; changed?: string } | { kind: "finish"; summary: string };

/**
 * Run one tool call. Every failure the model could do something about — bad arguments,
 * a refused path, a missing file, a failing command — comes back as a result it can read;
 * only the agent's own bugs would throw.
 */
export async function executeToolCall(
  ctx: ToolContext,
  name: string,
  rawArguments: string,
): Promise<ToolOutcome> {
  let args: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(rawArguments === "" ? "{}" : rawArguments);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("not an object");
    args = parsed as Record<string, unknown>;
  } catch {
    return { kind: "result", ok: false, text: `error: the arguments of ${name} must be a JSON object` };
  }
  try {
    switch (name) {
      case "list_files":
        return ok(await listFiles(ctx.workspaceRoot, args));
      case "read_file":
        return ok(await readFile(ctx.workspaceRoot, args));
      case "write_file":
        return changedFile(ctx, args, await writeFile(ctx.workspaceRoot, args));
      case "edit_file":
        return changedFile(ctx, args, await editFile(ctx.workspaceRoot, args));
      case "run_command":
        return ok(await runCommand(ctx.workspaceRoot, args, ctx.runCommandLimits, process.env, ctx.signal));
      case "request_capability":
        return ok(await requestCapability(ctx.bridgeUrl, ctx.apiKey, args));
      case "finish":
        if (typeof args.summary !== "string" || args.summary.trim() === "") {
          throw new ToolError("summary must be a non-empty string");
        }
        return { kind: "finish", summary: args.summary };
      default:
        throw new ToolError(
          `there is no tool named ${name}; use list_files, read_file, write_file, edit_file, run_command, request_capability or finish`,
        );
    }
  } catch (error) {
    if (error instanceof ToolError) return { kind: "result", ok: false, text: `error: ${error.message}` };
    const code = (error as NodeJS.ErrnoException).code;
    return {
      kind: "result",
      ok: false,
      text: `error: ${name} failed${code ? ` (${code})` : ""}: ${(error as Error).message}`,
    };
  }
}

function ok(text: string): ToolOutcome {
  return { kind: "result", ok: true, text };
}

function changedFile(ctx: ToolContext, args: Record<string, unknown>, text: string): ToolOutcome {
  return {
    kind: "result",
    ok: true,
    text,
    changed: resolveWorkspacePath(ctx.workspaceRoot, String(args.path)).relative,
  };
}

/** A short, secret-free description of a call for the step log. */
export function describeToolCall(name: string, rawArguments: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawArguments);
  } catch {
    return `${name} (unparsable arguments)`;
  }
  if (parsed === null || typeof parsed !== "object") return `${name} (arguments not an object)`;
  const args = parsed as Record<string, unknown>;
  const short = (value: unknown) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const line = (text ?? "").replace(/\s+/g, " ");
    return line.length > 60 ? `${line.slice(0, 57)}...` : line;
  };
  switch (name) {
    case "write_file":
      return `write_file ${short(args.path)} (${typeof args.content === "string" ? args.content.length : 0} chars)`;
    case "edit_file":
      return `edit_file ${short(args.path)}`;
    case "run_command":
      return `run_command ${short(args.command ?? args.argv)}`;
    case "request_capability":
      return `request_capability ${short(args.kind)}:${short(args.name)}`;
    case "finish":
      return "finish";
    default:
      return `${name} ${short(args.path ?? "")}`.trim();
  }
}
