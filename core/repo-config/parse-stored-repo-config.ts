import { z } from "zod";
import { AirlockError } from "../errors.ts";
import { permissionLevels } from "./permission-levels.ts";
import type { RepoConfig } from "./repo-config.ts";

const positive = z.number().positive();
const positiveWhole = z.number().int().positive();

/**
 * A RepoConfig as the app stores it with a run (`runs.repo_config`): already validated
 * from `.github/airlock.yml` and defaulted, so every field but `model` and the limits is
 * there. Keys a later version may add are dropped, not refused.
 */
export const storedRepoConfigSchema: z.ZodType<RepoConfig, unknown> = z.object({
  agents: z.array(z.string()).min(1),
  defaultAgent: z.string(),
  minPermission: z.enum(permissionLevels),
  // Runs recorded before issue 10 have none of these three: the defaults apply.
  approvePermission: z.enum(permissionLevels).default("write"),
  requireDistinctApprover: z.boolean().default(false),
  approvalTimeoutS: positiveWhole.default(72 * 3600),
  allowWorkflowChanges: z.boolean(),
  model: z.string().optional(),
  budget: z.object({ usd: positive, tokens: positiveWhole }),
  limits: z.object({
    timeoutS: positiveWhole.optional(),
    memoryMb: positiveWhole.optional(),
    cpus: positive.optional(),
    pids: positiveWhole.optional(),
  }),
  // Runs recorded before issue 11 built their images locally.
  images: z
    .discriminatedUnion("build", [
      z.object({ build: z.literal("local") }),
      z.object({ build: z.literal("actions"), registry: z.string().min(1), workflow: z.string().min(1) }),
    ])
    .default({ build: "local" }),
});

/**
 * The repository config a run was recorded with, or undefined for a run recorded without
 * one (local and manual runs). The row is read back as JSON, so it is parsed, not trusted:
 * a config that does not fit fails the run with the reason rather than running it with
 * whatever the fields happen to hold.
 */
export function parseStoredRepoConfig(stored: unknown, runId: string): RepoConfig | undefined {
  if (stored === null || stored === undefined) return undefined;
  const result = storedRepoConfigSchema.safeParse(stored);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
  throw new AirlockError(
    "invalid_stored_repo_config",
    `run ${runId}'s stored repository config is not valid (${problems.join("; ")}); it was recorded by another Airlock version or changed by hand: start the run again`,
    { cause: result.error },
  );
}
