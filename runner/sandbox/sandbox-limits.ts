import { UsageError } from "../../core/errors.ts";

/** What one sandbox may consume. Every field is enforced by the engine or by runSandboxed. */
export interface SandboxLimits {
  memoryMb: number;
  cpus: number;
  pids: number;
  timeoutS: number;
  tmpfsMb: number;
  outputCapBytes: number;
}

/**
 * The operator's ceiling (Settings.sandboxCeiling). tmpfs and output have no environment
 * variable yet, so they fall back to `defaultCeilingExtras`.
 */
export type SandboxCeiling = Pick<SandboxLimits, "memoryMb" | "cpus" | "pids" | "timeoutS"> &
  Partial<Pick<SandboxLimits, "tmpfsMb" | "outputCapBytes">>;

export const defaultSandboxLimits: Readonly<SandboxLimits> = Object.freeze({
  memoryMb: 1024,
  cpus: 1,
  pids: 256,
  timeoutS: 600,
  tmpfsMb: 64,
  outputCapBytes: 16 * 1024 * 1024,
});

export const defaultCeilingExtras: Readonly<Pick<SandboxLimits, "tmpfsMb" | "outputCapBytes">> =
  Object.freeze({
    tmpfsMb: 1024,
    outputCapBytes: 256 * 1024 * 1024,
  });

/** Below these the engine refuses the container or the sandbox cannot start a process. */
const floors: Readonly<SandboxLimits> = Object.freeze({
  memoryMb: 6,
  cpus: 0.01,
  pids: 1,
  timeoutS: 1,
  tmpfsMb: 1,
  outputCapBytes: 1,
});

const limitNames = Object.keys(defaultSandboxLimits) as (keyof SandboxLimits)[];

export interface ResolvedSandboxLimits {
  limits: SandboxLimits;
  /** Fields the caller asked for above the ceiling; they were lowered to it. */
  clamped: (keyof SandboxLimits)[];
}

/**
 * Requested limits, filled from the defaults, then clamped to the operator ceiling.
 * A repository's `.github/airlock.yml` is untrusted input: it may ask for less than the
 * operator allows, never more (DESIGN §4).
 */
export function resolveSandboxLimits(
  requested: Partial<SandboxLimits> | undefined,
  ceiling: SandboxCeiling,
): ResolvedSandboxLimits {
  const fullCeiling: SandboxLimits = { ...defaultCeilingExtras, ...ceiling };
  const limits = { ...defaultSandboxLimits };
  const clamped: (keyof SandboxLimits)[] = [];
  for (const name of limitNames) {
    const max = fullCeiling[name];
    if (!Number.isFinite(max) || max <= 0) {
      throw new UsageError(`sandbox ceiling ${name} must be a positive number, got ${String(max)}`);
    }
    const asked = requested?.[name];
    if (asked !== undefined && (!Number.isFinite(asked) || asked < floors[name])) {
      throw new UsageError(`sandbox limit ${name} must be a number ≥ ${floors[name]}, got ${String(asked)}`);
    }
    const wanted = asked ?? defaultSandboxLimits[name];
    if (wanted > max) {
      limits[name] = max;
      if (asked !== undefined) clamped.push(name);
    } else {
      limits[name] = wanted;
    }
  }
  return { limits, clamped };
}
