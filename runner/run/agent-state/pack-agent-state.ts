import { createHash } from "node:crypto";
import { lstat, open, readdir } from "node:fs/promises";
import { constants } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { AirlockError } from "../../../core/errors.ts";

const gzipAsync = promisify(gzip);

/** The agent's saved state is bounded: a run that leaves more cannot park (issue 10 §2). */
export const defaultAgentStateLimits = Object.freeze({ maxBytes: 64 * 1024 * 1024, maxFiles: 20_000 });

export interface AgentStateEntry {
  /** Relative, `/`-separated, no `.` or `..` segment. */
  path: string;
  /** Permission bits (0o777 at most); set-id bits are never kept. */
  mode: number;
  /** Base64 of the file's bytes; absent for a folder. */
  data?: string;
}

export interface PackedAgentState {
  archive: Buffer;
  /** Bytes of file content (before compression). */
  bytes: number;
  files: number;
  sha256: string;
  /** Paths left out because they are neither a regular file nor a folder (symlinks, sockets…). */
  skipped: string[];
}

/**
 * Pack the agent's state folder (written by the untrusted agent): regular files and
 * folders only, read with lstat and O_NOFOLLOW, so a symlink can neither pull a host file
 * into the archive nor point anywhere on restore; everything else is skipped and named.
 * Over `maxBytes` or `maxFiles` it throws rather than cutting state short, since a
 * half-restored session is worse than none.
 */
export async function packAgentState(
  dir: string,
  limits: { maxBytes: number; maxFiles: number } = defaultAgentStateLimits,
): Promise<PackedAgentState> {
  const entries: AgentStateEntry[] = [];
  const skipped: string[] = [];
  let bytes = 0;
  let files = 0;
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const stat = await lstat(join(dir, path));
      if (files + entries.length >= limits.maxFiles) {
        throw new AirlockError(
          "agent_state_too_large",
          `the agent's state folder holds more than ${limits.maxFiles} entries; it cannot be saved for resuming`,
        );
      }
      if (stat.isDirectory()) {
        entries.push({ path, mode: stat.mode & 0o777 });
        await walk(path);
      } else if (stat.isFile()) {
        bytes += stat.size;
        if (bytes > limits.maxBytes) {
          throw new AirlockError(
            "agent_state_too_large",
            `the agent's state folder holds more than ${formatBytes(limits.maxBytes)}; it cannot be saved for resuming (it is bounded so that any runner can restore it)`,
          );
        }
        files += 1;
        entries.push({
          path,
          mode: stat.mode & 0o777,
          data: (await readNoFollow(join(dir, path))).toString("base64"),
        });
      } else {
        skipped.push(path);
      }
    }
  };
  await walk("");
  const archive = await gzipAsync(Buffer.from(JSON.stringify({ version: 1, entries })));
  return {
    archive,
    bytes,
    files,
    sha256: createHash("sha256").update(archive).digest("hex"),
    skipped,
  };
}

async function readNoFollow(path: string): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(0)} MiB` : `${bytes} bytes`;
}
