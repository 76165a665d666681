import { constants } from "node:fs";
import { lstat, open } from "node:fs/promises";
import { join } from "node:path";

const maxSummaryBytes = 64 * 1024;

/**
 * The agent's `.airlock/summary.md`, or undefined when it wrote none. The workspace is
 * hostile and read only after the container is gone: `.airlock` must be a real directory
 * and the file is opened with O_NOFOLLOW (a link to a host file is not read), must be a
 * regular file, and only its first 64 KiB are taken.
 */
export async function readAgentSummary(workspace: string): Promise<string | undefined> {
  const dir = await lstat(join(workspace, ".airlock")).catch(() => undefined);
  if (!dir?.isDirectory()) return undefined;
  let handle;
  try {
    handle = await open(
      join(workspace, ".airlock", "summary.md"),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const buffer = Buffer.alloc(maxSummaryBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxSummaryBytes, 0);
    const text = buffer
      .subarray(0, bytesRead)
      .toString("utf8")
      .replace(/\uFFFD+$/, "")
      .trim();
    return text === "" ? undefined : text;
  } finally {
    await handle.close();
  }
}
