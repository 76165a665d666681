// Characters HFS+ ignores when comparing names, so `.g\u200cit` is `.git` on a Mac
// checkout (CVE-2014-9390); git's own protectHFS list.
const hfsIgnorable = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** True when a single path component would be read as a `.git` directory on some platform. */
function isDotGitName(name: string): boolean {
  const folded = name.replace(hfsIgnorable, "").toLowerCase();
  // NTFS drops trailing dots and spaces and reads `.git::$INDEX_ALLOCATION` as `.git`.
  const ntfs = folded.replace(/[. ]+$/, "").split(":")[0] ?? "";
  return folded === ".git" || ntfs === ".git" || ntfs === "git~1";
}

/**
 * Why a relative path from the workspace must not reach a commit, or undefined when it
 * may. The walker only yields names readdir gave it, but the relay checks anyway: a path
 * into `.git/` would rewrite the repository's config or hooks on every clone, and `..`
 * or an absolute path would write outside the tree.
 */
export function checkRelayPath(path: string): string | undefined {
  if (path.length === 0) return "empty path";
  if (path.startsWith("/")) return "absolute path";
  if (Buffer.byteLength(path) > 4096) return "path longer than 4096 bytes";
  if (path.includes("\\")) return "backslash in the path (a separator on Windows checkouts)";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "control character in the path";
  for (const name of path.split("/")) {
    if (name.length === 0) return "empty path component";
    if (name === "." || name === "..") return `"${name}" component in the path`;
    if (isDotGitName(name)) return "path into a .git directory";
    if (Buffer.byteLength(name) > 255) return "file name longer than 255 bytes";
  }
  return undefined;
}
