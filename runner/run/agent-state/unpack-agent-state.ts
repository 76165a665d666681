import { createHash } from "node:crypto";
import { chmod, mkdir, open } from "node:fs/promises";
import { constants } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { z } from "zod";
import { AirlockError } from "../../../core/errors.ts";
import { defaultAgentStateLimits } from "./pack-agent-state.ts";

const gunzipAsync = promisify(gunzip);

const safeSegment = /^(?!\.\.?$)[^/\0]+$/;
const archiveSchema = z.strictObject({
  version: z.literal(1),
  entries: z.array(
    z.strictObject({
      path: z
        .string()
        .min(1)
        .max(4096)
        .refine((p) => p.split("/").every((s) => safeSegment.test(s)), "a relative path without . or .."),
      mode: z.number().int().min(0).max(0o777),
      data: z.string().optional(),
    }),
  ),
});

/**
 * Restore a saved state archive into `dir` (empty, the host's own). The archive came from
 * the database, but its content from the agent: paths are checked again (relative, no
 * `.`/`..`), files are created with O_EXCL|O_NOFOLLOW so nothing is written through a link,
 * set-id bits were never kept, and the same bounds as packing apply after decompression.
 */
export async function unpackAgentState(
  archive: Buffer,
  dir: string,
  expectedSha256: string,
  limits: { maxBytes: number; maxFiles: number } = defaultAgentStateLimits,
): Promise<{ files: number; bytes: number }> {
  const sha = createHash("sha256").update(archive).digest("hex");
  if (sha !== expectedSha256) {
    throw new AirlockError(
      "agent_state_corrupt",
      `the saved agent state does not match its recorded sha256 (${sha} != ${expectedSha256}); it was changed after it was saved`,
    );
  }
  const json = await gunzipAsync(archive, { maxOutputLength: limits.maxBytes * 2 + 16 * 1024 * 1024 });
  const parsed = archiveSchema.safeParse(JSON.parse(json.toString("utf8")));
  if (!parsed.success) {
    throw new AirlockError(
      "agent_state_corrupt",
      `the saved agent state is not an archive Airlock wrote: ${z.prettifyError(parsed.error)}`,
    );
  }
  const entries = parsed.data.entries;
  if (entries.length > limits.maxFiles) {
    throw new AirlockError(
      "agent_state_too_large",
      `the saved agent state has ${entries.length} entries (at most ${limits.maxFiles})`,
    );
  }
  let bytes = 0;
  let files = 0;
  await mkdir(dir, { recursive: true });
  for (const entry of entries) {
    const target = join(dir, entry.path);
    if (entry.data === undefined) {
      await mkdir(target, { recursive: true, mode: 0o700 });
      await chmod(target, entry.mode | 0o700);
      continue;
    }
    const content = Buffer.from(entry.data, "base64");
    bytes += content.length;
    if (bytes > limits.maxBytes) {
      throw new AirlockError(
        "agent_state_too_large",
        `the saved agent state is over ${limits.maxBytes} bytes`,
      );
    }
    const handle = await open(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      entry.mode & 0o777,
    );
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    files += 1;
  }
  return { files, bytes };
}
