import { statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../core/errors.ts";
import type { SandboxLimits } from "../runner/sandbox/sandbox-limits.ts";

/** The flags of `airlock sandbox exec`, as commander hands them over (all strings). */
export interface RawSandboxExecFlags {
  image?: string;
  timeout?: string;
  memory?: string;
  cpus?: string;
  pids?: string;
  tmpSize?: string;
  workspace?: string;
  outputCap?: string;
  init?: boolean;
}

export interface SandboxExecOptions {
  image: string | undefined;
  limits: Partial<SandboxLimits>;
  workspaceDir: string | undefined;
}

/** Parse every flag once; all problems are reported together, each saying what to write instead. */
export function parseSandboxExecOptions(
  flags: RawSandboxExecFlags,
  cwd: string = process.cwd(),
): SandboxExecOptions {
  const problems: string[] = [];
  const limits: Partial<SandboxLimits> = {};
  function take<K extends keyof SandboxLimits>(key: K, value: number | string | undefined): void {
    if (typeof value === "string") problems.push(value);
    else if (value !== undefined) limits[key] = value;
  }
  if (flags.timeout !== undefined)
    take("timeoutS", parseNumber(flags.timeout, "--timeout", "seconds, e.g. 30", true));
  if (flags.cpus !== undefined) take("cpus", parseNumber(flags.cpus, "--cpus", "CPUs, e.g. 1 or 0.5", false));
  if (flags.pids !== undefined) take("pids", parseNumber(flags.pids, "--pids", "processes, e.g. 128", true));
  if (flags.memory !== undefined) {
    const bytes = parseSize(flags.memory, "--memory", "e.g. 512m or 1g");
    take("memoryMb", typeof bytes === "number" ? bytes / (1024 * 1024) : bytes);
  }
  if (flags.tmpSize !== undefined) {
    const bytes = parseSize(flags.tmpSize, "--tmp-size", "e.g. 64m");
    take("tmpfsMb", typeof bytes === "number" ? Math.ceil(bytes / (1024 * 1024)) : bytes);
  }
  if (flags.outputCap !== undefined)
    take("outputCapBytes", parseSize(flags.outputCap, "--output-cap", "bytes, e.g. 1048576 or 10m", true));
  if (flags.image !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$/.test(flags.image)) {
    problems.push(
      `--image ${JSON.stringify(flags.image)}: must be an image reference, e.g. airlock/base:0.1.0`,
    );
  }
  let workspaceDir: string | undefined;
  if (flags.workspace !== undefined) {
    if (flags.workspace.trim() === "") problems.push("--workspace: needs a folder path");
    else {
      workspaceDir = isAbsolute(flags.workspace) ? flags.workspace : resolve(cwd, flags.workspace);
      if (!statSync(workspaceDir, { throwIfNoEntry: false })?.isDirectory()) {
        problems.push(`--workspace ${JSON.stringify(flags.workspace)}: must be an existing folder`);
      }
    }
  }
  if (problems.length > 0) {
    throw new UsageError(`sandbox exec: bad options:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
  return { image: flags.image, limits, workspaceDir };
}

function parseNumber(text: string, flag: string, hint: string, integer: boolean): number | string {
  const pattern = integer ? /^[0-9]+$/ : /^[0-9]+(\.[0-9]+)?$/;
  const value = Number(text);
  if (!pattern.test(text.trim()) || !(value > 0))
    return `${flag} ${JSON.stringify(text)}: must be a positive number of ${hint}`;
  return value;
}

const units: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "512m", "1g", "64k", "100" (bytes only where `bareBytes`). */
function parseSize(text: string, flag: string, hint: string, bareBytes = false): number | string {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([bkmg]?)(?:i?b)?$/i.exec(text.trim());
  const unit = match?.[2]?.toLowerCase() ?? "";
  if (!match || (!bareBytes && unit === "") || !(Number(match[1]) > 0)) {
    return `${flag} ${JSON.stringify(text)}: must be a size with a unit (k, m, g), ${hint}`;
  }
  return Math.floor(Number(match[1]) * (units[unit] ?? 1));
}
