import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { resolveWorkspacePath } from "./resolve-workspace-path.ts";
import { ToolError } from "./tool-error.ts";

const maxEntries = 500;

/** Folders end with `/`; `.git` and `node_modules` are listed but never entered (noise, not code). */
export async function listFiles(root: string, args: { path?: unknown; depth?: unknown }): Promise<string> {
  const path = args.path === undefined ? "." : args.path;
  if (typeof path !== "string") throw new ToolError("path must be a string");
  const rawDepth = args.depth === undefined ? 2 : args.depth;
  if (typeof rawDepth !== "number" || !Number.isInteger(rawDepth) || rawDepth < 1 || rawDepth > 10) {
    throw new ToolError("depth must be a whole number from 1 to 10");
  }
  const depth: number = rawDepth;
  const start = resolveWorkspacePath(root, path);
  const lines: string[] = [];
  let truncated = false;

  async function walk(dir: string, prefix: string, level: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") throw new ToolError(`${path} is a file, not a folder; use read_file`);
      if (code === "ENOENT") throw new ToolError(`${path} does not exist`);
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (lines.length >= maxEntries) {
        truncated = true;
        return;
      }
      const name = prefix + entry.name;
      if (entry.isDirectory()) {
        lines.push(`${name}/`);
        if (level < depth && entry.name !== ".git" && entry.name !== "node_modules") {
          await walk(join(dir, entry.name), `${name}/`, level + 1);
        }
      } else if (entry.isSymbolicLink()) {
        lines.push(`${name} (symlink)`);
      } else {
        lines.push(name);
      }
    }
  }

  await walk(start.absolute, start.relative === "." ? "" : `${start.relative}/`, 1);
  if (lines.length === 0) return `${start.relative}/ is empty`;
  if (truncated) lines.push(`[listing stopped at ${maxEntries} entries; list a sub-folder or lower depth]`);
  return lines.join("\n");
}
