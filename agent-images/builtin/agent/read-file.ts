import { readFile as readFileBytes } from "node:fs/promises";
import { resolveWorkspacePath } from "./resolve-workspace-path.ts";
import { ToolError } from "./tool-error.ts";

const maxBytes = 64 * 1024;

/** Lines `offset` (1-based) to `offset + limit - 1`, capped at 64 KiB so one file cannot flood the context. */
export async function readFile(
  root: string,
  args: { path?: unknown; offset?: unknown; limit?: unknown },
): Promise<string> {
  if (typeof args.path !== "string") throw new ToolError("path must be a string");
  const offset = args.offset === undefined ? 1 : args.offset;
  const limit = args.limit === undefined ? 2000 : args.limit;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 1) {
    throw new ToolError("offset must be a whole number ≥ 1 (the first line to read)");
  }
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new ToolError("limit must be a whole number ≥ 1 (how many lines to read)");
  }
  const target = resolveWorkspacePath(root, args.path);
  let bytes: Buffer;
  try {
    bytes = await readFileBytes(target.absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ToolError(`${args.path} does not exist; use list_files to find it`);
    if (code === "EISDIR") throw new ToolError(`${args.path} is a folder; use list_files`);
    throw error;
  }
  if (bytes.subarray(0, 8192).includes(0)) {
    throw new ToolError(`${args.path} looks binary (${bytes.length} bytes); it is not shown`);
  }
  const lines = bytes.toString("utf8").split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  if (offset > lines.length && !(offset === 1 && lines.length === 0)) {
    throw new ToolError(`${args.path} has ${lines.length} lines; offset ${offset} is past its end`);
  }
  const selected: string[] = [];
  let size = 0;
  let last = offset - 1;
  for (let i = offset - 1; i < Math.min(lines.length, offset - 1 + limit); i++) {
    const line = lines[i] ?? "";
    if (size + line.length + 1 > maxBytes) break;
    selected.push(line);
    size += line.length + 1;
    last = i + 1;
  }
  const header =
    last >= lines.length && offset === 1
      ? `${target.relative} (${lines.length} lines)`
      : `${target.relative} lines ${offset}-${last} of ${lines.length}; read on with offset ${last + 1}`;
  return `${header}\n${selected.join("\n")}`;
}
