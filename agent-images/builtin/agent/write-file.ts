import { mkdir, stat, writeFile as writeFileBytes } from "node:fs/promises";
import { dirname } from "node:path";
import { resolveWorkspacePath } from "./resolve-workspace-path.ts";
import { ToolError } from "./tool-error.ts";

const maxBytes = 1024 * 1024;

/** Create or replace a whole file (parent folders are created). */
export async function writeFile(root: string, args: { path?: unknown; content?: unknown }): Promise<string> {
  if (typeof args.path !== "string") throw new ToolError("path must be a string");
  if (typeof args.content !== "string") throw new ToolError("content must be a string (the whole file)");
  const size = Buffer.byteLength(args.content);
  if (size > maxBytes) throw new ToolError(`content is ${size} bytes; files are limited to ${maxBytes}`);
  const target = resolveWorkspacePath(root, args.path, { forWrite: true });
  const existed = await stat(target.absolute).then(
    (s) => {
      if (s.isDirectory()) throw new ToolError(`${args.path} is a folder; give a file path`);
      return true;
    },
    () => false,
  );
  await mkdir(dirname(target.absolute), { recursive: true });
  await writeFileBytes(target.absolute, args.content);
  return `${existed ? "replaced" : "created"} ${target.relative} (${size} bytes)`;
}
