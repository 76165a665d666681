import { lstatSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { ToolError } from "./tool-error.ts";

export interface ResolvedPath {
  /** Absolute path inside the workspace. */
  absolute: string;
  /** Path relative to the workspace root, with `/` separators ("." for the root). */
  relative: string;
}

/**
 * Resolve a path the model gave against the workspace and refuse anything outside it:
 * `..` escapes, absolute paths elsewhere, and symlinks (in the path or any parent) that
 * point out of the tree. With `forWrite`, paths into `.git/` are refused too: the host's
 * git relay never uses the workspace's `.git`, and a planted hook or config there is
 * exactly what an injected prompt would try, so the agent does not write it either.
 */
export function resolveWorkspacePath(
  root: string,
  path: string,
  options: { forWrite?: boolean } = {},
): ResolvedPath {
  if (typeof path !== "string" || path.length === 0) {
    throw new ToolError('path must be a non-empty string, relative to /workspace (e.g. "src/index.ts")');
  }
  if (path.includes("\0")) throw new ToolError("path must not contain a NUL byte");
  const realRoot = realpathSync(root);
  const candidate = isAbsolute(path) ? resolve(path) : resolve(realRoot, path);
  const lexical = relative(realRoot, candidate);
  if (isOutside(lexical)) {
    throw new ToolError(
      `${path} is outside the workspace; every path must stay under ${root} (use a path relative to it)`,
    );
  }
  // Follow symlinks through the deepest part of the path that exists: a link such as
  // `docs -> /etc` must not let `docs/passwd` through.
  const real = realpathOfExisting(candidate);
  const rel = relative(realRoot, real);
  if (isOutside(rel)) {
    throw new ToolError(`${path} leads outside the workspace through a symbolic link; refusing it`);
  }
  const normalized = rel === "" ? "." : rel.split(sep).join("/");
  if (options.forWrite && (normalized === ".git" || normalized.startsWith(".git/"))) {
    throw new ToolError(
      `${path} is inside .git/: writing there is refused. Airlock's host-side git relay commits your ` +
        "file changes itself and ignores the workspace's .git, so edit the project's files instead",
    );
  }
  return { absolute: real, relative: normalized };
}

function isOutside(rel: string): boolean {
  return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

function realpathOfExisting(path: string): string {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      const real = realpathSync(current);
      return missing.length === 0 ? real : resolve(real, ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      // A dangling link: writing through it would create its target, wherever that is.
      if (existsAsLink(current)) {
        throw new ToolError(`${current} is a symbolic link to a missing target; refusing to follow it`);
      }
      const parent = dirname(current);
      if (parent === current) return path;
      missing.push(current.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
      current = parent;
    }
  }
}

function existsAsLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
