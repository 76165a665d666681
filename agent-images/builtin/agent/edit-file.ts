import { readFile, writeFile } from "node:fs/promises";
import { resolveWorkspacePath } from "./resolve-workspace-path.ts";
import { ToolError } from "./tool-error.ts";

/** Replace one exact, unique occurrence of `old` with `new`. */
export async function editFile(
  root: string,
  args: { path?: unknown; old?: unknown; new?: unknown },
): Promise<string> {
  if (typeof args.path !== "string") throw new ToolError("path must be a string");
  if (typeof args.old !== "string" || args.old.length === 0) {
    throw new ToolError("old must be the exact, non-empty text to replace (use write_file for a new file)");
  }
  if (typeof args.new !== "string") throw new ToolError("new must be a string (may be empty to delete)");
  const target = resolveWorkspacePath(root, args.path, { forWrite: true });
  let text: string;
  try {
    text = await readFile(target.absolute, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ToolError(`${args.path} does not exist; use write_file to create it`);
    }
    throw error;
  }
  const first = text.indexOf(args.old);
  if (first === -1) {
    throw new ToolError(
      `old text not found in ${target.relative}; read_file it again and copy the text exactly, including whitespace and indentation`,
    );
  }
  let count = 0;
  for (let at = first; at !== -1; at = text.indexOf(args.old, at + 1)) count++;
  if (count > 1) {
    throw new ToolError(
      `old text occurs ${count} times in ${target.relative}; include more surrounding lines so it matches exactly once`,
    );
  }
  // Spliced by index, not String.replace: `$&` or `$1` in the new text must stay literal.
  const updated = text.slice(0, first) + args.new + text.slice(first + args.old.length);
  await writeFile(target.absolute, updated);
  const line = text.slice(0, first).split("\n").length;
  return `edited ${target.relative} at line ${line}`;
}
