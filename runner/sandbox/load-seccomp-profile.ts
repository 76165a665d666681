import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { SandboxError } from "./sandbox-error.ts";

/** The profile kept in the repository, next to this file. */
export const defaultSeccompProfilePath = fileURLToPath(new URL("./seccomp-profile.json", import.meta.url));

const seccompProfileSchema = z.looseObject({
  defaultAction: z.string().regex(/^SCMP_ACT_[A-Z_]+$/),
  syscalls: z.array(z.looseObject({})).optional(),
});

/**
 * Read the seccomp profile and return it as compact JSON for `SecurityOpt: seccomp=<json>`.
 * A missing or broken profile is an error, never a silent fallback: without it the engine
 * would apply its default (or none), and the syscall surface the escape suite pins down
 * would quietly widen.
 */
export async function loadSeccompProfile(path: string = defaultSeccompProfilePath): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new SandboxError(
      `seccomp profile missing: cannot read ${path} (${(error as Error).message}); restore it from the repository`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SandboxError(`seccomp profile ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = seccompProfileSchema.safeParse(json);
  if (!parsed.success) {
    throw new SandboxError(
      `seccomp profile ${path} is not a Docker seccomp profile (needs "defaultAction": "SCMP_ACT_…"): ${parsed.error.issues
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ")}`,
    );
  }
  return JSON.stringify(json);
}
