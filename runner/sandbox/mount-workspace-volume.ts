import { execFile } from "node:child_process";
import { mkdir, open, rmdir, statfs } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Logger } from "../../core/logger.ts";
import { SandboxError } from "./sandbox-error.ts";

const run = promisify(execFile);

/** What the workspace's own filesystem holds; `full` when the agent can write no more. */
export interface WorkspaceDiskUsage {
  sizeBytes: number;
  freeBytes: number;
  freeInodes: number;
  full: boolean;
}

export interface WorkspaceVolume {
  dir: string;
  imagePath: string;
  sizeMb: number;
  readUsage(): Promise<WorkspaceDiskUsage>;
  /** Unmount (the loop device is freed with it). Safe to call twice. */
  unmount(): Promise<void>;
}

/** Below this the workspace counts as full: ext4 keeps a few blocks an agent cannot fill. */
const fullMarginBytes = 1024 * 1024;

/**
 * The per-run disk cap (AIRLOCK_MAX_DISK_MB, issue 9 §4): the workspace is its own ext4
 * filesystem in a sparse image file of `sizeMb`, loop-mounted at `dir` before the checkout
 * is written into it. The agent's writes fill that filesystem, never the host's: the image
 * file can grow to `sizeMb` and no further, whatever the agent writes. Chosen because it
 * needs only root and the loop driver (no systemd, no XFS project quota, no Docker storage
 * driver option), and because a bind mount of it behaves like any workspace folder.
 *
 * Needs root (mount). `nodev,nosuid`: a device node or setuid binary made inside is inert.
 */
export async function mountWorkspaceVolume(input: {
  dir: string;
  imagePath: string;
  sizeMb: number;
  logger: Logger;
}): Promise<WorkspaceVolume> {
  const { dir, imagePath, sizeMb } = input;
  if (!Number.isInteger(sizeMb) || sizeMb < 8) {
    throw new SandboxError(`the workspace disk cap must be a whole number of MiB ≥ 8, got ${String(sizeMb)}`);
  }
  if (process.getuid?.() !== 0) {
    throw new SandboxError(
      "AIRLOCK_MAX_DISK_MB needs the runner to run as root: the capped workspace is a loop-mounted filesystem image",
    );
  }
  // Sparse: host blocks are taken only as the agent writes, and never more than sizeMb.
  const image = await open(imagePath, "wx", 0o600);
  try {
    await image.truncate(sizeMb * 1024 * 1024);
  } finally {
    await image.close();
  }
  const tool = async (command: string, args: string[]) => {
    try {
      await run(command, args, { timeout: 60_000 });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
      throw new SandboxError(
        `could not prepare the disk-capped workspace (${command} failed: ${stderr || (error as Error).message}); ` +
          "the runner needs root, the loop driver and mkfs.ext4 for AIRLOCK_MAX_DISK_MB",
        { cause: error },
      );
    }
  };
  // No journal and no reserved blocks: the whole cap is the agent's, and the image is thrown away.
  // One inode per 8 KiB: dependency trees are many small files.
  await tool("mkfs.ext4", ["-q", "-F", "-m", "0", "-i", "8192", "-O", "^has_journal", "--", imagePath]);
  await mkdir(dir, { mode: 0o755 });
  await tool("mount", ["-t", "ext4", "-o", "loop,nodev,nosuid,noatime", "--", imagePath, dir]);
  let mounted = true;
  await rmdir(join(dir, "lost+found")).catch(() => undefined);
  input.logger.info({ dir, sizeMb }, "workspace mounted on its own disk-capped filesystem");

  return {
    dir,
    imagePath,
    sizeMb,
    async readUsage() {
      const fs = await statfs(dir);
      const freeBytes = fs.bavail * fs.bsize;
      return {
        sizeBytes: fs.blocks * fs.bsize,
        freeBytes,
        freeInodes: fs.ffree,
        full: freeBytes < fullMarginBytes || fs.ffree === 0,
      };
    },
    async unmount() {
      if (!mounted) return;
      await tool("umount", ["--", dir]);
      mounted = false;
    },
  };
}
