import { z } from "zod";
import { permissionLevels } from "./permission-levels.ts";
import type { RepoConfig } from "./repo-config.ts";

export const DEFAULT_AGENT_ID = "builtin";
export const DEFAULT_BUDGET = Object.freeze({ usd: 2, tokens: 1_000_000 });
export const DEFAULT_MIN_PERMISSION = "write";
export const DEFAULT_APPROVE_PERMISSION = "write";
export const DEFAULT_APPROVAL_TIMEOUT_S = 72 * 3600;
export const DEFAULT_IMAGE_WORKFLOW = "airlock-image.yml";

/**
 * A registry and repository images are pushed to: `host[:port]/path`, lower case as
 * Docker requires, no tag or digest (Airlock names the tag). It reaches the dispatch's
 * inputs and the runner's `docker pull`, so nothing else is allowed through.
 */
const registryPattern = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/;
const registryText = "a registry and repository without tag, e.g. registry.example/acme/airlock-images";
/** A workflow file name in .github/workflows/, as the dispatch API takes it. */
const workflowPattern = /^[A-Za-z0-9._-]{1,100}\.ya?ml$/;
const workflowText =
  "a workflow file name in .github/workflows/ ending in .yml or .yaml, e.g. airlock-image.yml";

const durationUnits = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const durationText = "a duration such as 30m, 72h or 7d (s, m, h or d; at least 1s, at most 30d)";

/** `72h` → 259200; undefined when the text is not a duration Airlock accepts. */
function parseDurationS(text: string): number | undefined {
  const match = /^([1-9][0-9]{0,6})\s*([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * durationUnits[match[2] as keyof typeof durationUnits];
  return seconds <= 30 * 86_400 ? seconds : undefined;
}

/**
 * Names what was found without quoting it: problems go back to GitHub in a reply,
 * and echoing a stranger's value there would let the file write our comment.
 */
function describeInput(input: unknown): string {
  if (input === null) return "an empty value";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a mapping";
  if (typeof input === "number" && !Number.isFinite(input)) return "a non-finite number";
  if (typeof input === "number" && !Number.isInteger(input)) return "a fraction";
  return `a ${typeof input}`;
}

/** One message per field, whatever check failed: what is allowed, then what was there. */
function expect(allowed: string) {
  return {
    error: (issue: { input?: unknown; code?: string }) =>
      issue.code === "invalid_type"
        ? `must be ${allowed} (found ${describeInput(issue.input)})`
        : `must be ${allowed}`,
  };
}

function strictMapping<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown key; allowed here: ${allowed}`
        : `must be a mapping of ${allowed} (found ${describeInput(issue.input)})`,
  });
}

const agentId = z.string(expect("an agent id (a string)"));

/**
 * `z.int()` would do, but its failure aborts the whole parse, which skips the cross-key
 * checks below and so hides problems from the one reply the maintainer gets.
 */
function wholeNumber(allowed: string) {
  return z.number(expect(allowed)).refine(Number.isSafeInteger, expect(allowed));
}

/**
 * `.github/airlock.yml` as written (snake_case), turned into a fully defaulted
 * `RepoConfig`. Strict: an unknown key is an error, not ignored, so a typo such as
 * `min_permision: admin` cannot silently leave the default in force. Whether the
 * agents exist in this Airlock's catalog is checked by `parseRepoConfig`.
 */
export const repoConfigSchema = strictMapping({
  agents: z
    .array(agentId, expect("a non-empty list of agent ids"))
    .min(1, expect("a non-empty list of agent ids"))
    .optional(),
  default_agent: agentId.optional(),
  min_permission: z.enum(permissionLevels, expect(`one of ${permissionLevels.join(", ")}`)).optional(),
  approve_permission: z.enum(permissionLevels, expect(`one of ${permissionLevels.join(", ")}`)).optional(),
  require_distinct_approver: z.boolean(expect("true or false")).optional(),
  approval_timeout: z
    .string(expect(durationText))
    .refine((text) => parseDurationS(text) !== undefined, expect(durationText))
    .optional(),
  allow_workflow_changes: z.boolean(expect("true or false")).optional(),
  model: z
    .string(expect("1 to 100 characters of A-Z a-z 0-9 . _ : / -"))
    .regex(/^[A-Za-z0-9._:/-]{1,100}$/, expect("1 to 100 characters of A-Z a-z 0-9 . _ : / -"))
    .optional(),
  budget: strictMapping({
    usd: z.number(expect("a number greater than 0 and at most 1000")).gt(0).max(1000).optional(),
    tokens: wholeNumber("a whole number greater than 0").gt(0).optional(),
  }).optional(),
  limits: strictMapping({
    timeout_minutes: z
      .number(expect(`a number of minutes greater than 0 and at most ${24 * 60}`))
      .gt(0)
      .max(24 * 60)
      .optional(),
    memory_mb: wholeNumber("a whole number of MiB, at least 64").min(64).optional(),
    cpus: z.number(expect("a number greater than 0 and at most 64")).gt(0).max(64).optional(),
    pids: wholeNumber("a whole number, at least 16").min(16).optional(),
  }).optional(),
  images: strictMapping({
    build: z.enum(["local", "actions"], expect("one of local, actions")).optional(),
    registry: z.string(expect(registryText)).regex(registryPattern, expect(registryText)).optional(),
    workflow: z.string(expect(workflowText)).regex(workflowPattern, expect(workflowText)).optional(),
  }).optional(),
})
  // `when` makes these run even when another key is wrong, so that every problem is
  // reported at once; the input is then only partly checked, hence the type guards.
  .refine(
    (file) =>
      typeof file.default_agent !== "string" ||
      (Array.isArray(file.agents) ? file.agents : [DEFAULT_AGENT_ID]).includes(file.default_agent),
    { path: ["default_agent"], message: "must be one of the agents listed under agents", when: () => true },
  )
  .refine((file) => !Array.isArray(file.agents) || new Set(file.agents).size === file.agents.length, {
    path: ["agents"],
    message: "lists the same agent more than once",
    when: () => true,
  })
  .refine(
    (file) =>
      typeof file.images !== "object" ||
      file.images === null ||
      (file.images.build === "actions") === (file.images.registry !== undefined),
    {
      path: ["images", "registry"],
      message: "is needed with build: actions (where the workflow pushes images), and only then",
      when: () => true,
    },
  )
  .refine(
    (file) =>
      typeof file.images !== "object" ||
      file.images === null ||
      file.images.workflow === undefined ||
      file.images.build === "actions",
    { path: ["images", "workflow"], message: "is read only with build: actions", when: () => true },
  )
  .transform((file): RepoConfig => {
    const agents = file.agents ?? [DEFAULT_AGENT_ID];
    const limits: RepoConfig["limits"] = {};
    // Rounded up so that a tiny but valid timeout never becomes 0 s (= no timeout downstream).
    if (file.limits?.timeout_minutes !== undefined)
      limits.timeoutS = Math.ceil(file.limits.timeout_minutes * 60);
    if (file.limits?.memory_mb !== undefined) limits.memoryMb = file.limits.memory_mb;
    if (file.limits?.cpus !== undefined) limits.cpus = file.limits.cpus;
    if (file.limits?.pids !== undefined) limits.pids = file.limits.pids;
    const config: RepoConfig = {
      agents,
      defaultAgent: file.default_agent ?? agents[0] ?? DEFAULT_AGENT_ID,
      minPermission: file.min_permission ?? DEFAULT_MIN_PERMISSION,
      approvePermission: file.approve_permission ?? DEFAULT_APPROVE_PERMISSION,
      requireDistinctApprover: file.require_distinct_approver ?? false,
      approvalTimeoutS:
        (file.approval_timeout !== undefined ? parseDurationS(file.approval_timeout) : undefined) ??
        DEFAULT_APPROVAL_TIMEOUT_S,
      allowWorkflowChanges: file.allow_workflow_changes ?? false,
      budget: {
        usd: file.budget?.usd ?? DEFAULT_BUDGET.usd,
        tokens: file.budget?.tokens ?? DEFAULT_BUDGET.tokens,
      },
      limits,
      images:
        file.images?.build === "actions" && file.images.registry !== undefined
          ? {
              build: "actions",
              registry: file.images.registry,
              workflow: file.images.workflow ?? DEFAULT_IMAGE_WORKFLOW,
            }
          : { build: "local" },
    };
    if (file.model !== undefined) config.model = file.model;
    return config;
  });
