import { spawn } from "node:child_process";
import { resolveWorkspacePath } from "./resolve-workspace-path.ts";
import { ToolError } from "./tool-error.ts";

export interface RunCommandLimits {
  /** Default timeout when the model gives none. */
  defaultTimeoutS: number;
  maxTimeoutS: number;
  /** Bytes of output kept per stream: the first half and the last half, the middle dropped. */
  outputCapBytes: number;
}

export const defaultRunCommandLimits: RunCommandLimits = {
  defaultTimeoutS: 120,
  maxTimeoutS: 1800,
  outputCapBytes: 16 * 1024,
};

/**
 * Variables a command never inherits: the run token is the agent's key to the metered
 * proxy, and the command may be the repository's own code (a test script, a postinstall)
 * that would spend the run's budget or leak the token into a file.
 */
const withheldEnv = /^(OPENAI_API_KEY|ANTHROPIC_API_KEY|ANTHROPIC_AUTH_TOKEN|AIRLOCK_RUN_TOKEN)$/;

/**
 * Run a command inside the sandbox: `command` (a string) goes to `/bin/sh -c`, `argv` (or an
 * array given as `command`) runs without a shell.
 * The whole process group is killed at the timeout; output is capped per stream.
 */
export async function runCommand(
  root: string,
  args: { command?: unknown; argv?: unknown; timeout_s?: unknown; cwd?: unknown },
  limits: RunCommandLimits = defaultRunCommandLimits,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<string> {
  if (args.command !== undefined && args.argv !== undefined) {
    throw new ToolError("give either command (a shell string) or argv (an array), not both");
  }
  const argv = toArgv(args.argv ?? args.command);
  const timeoutS = args.timeout_s === undefined ? limits.defaultTimeoutS : args.timeout_s;
  if (typeof timeoutS !== "number" || !(timeoutS > 0) || timeoutS > limits.maxTimeoutS) {
    throw new ToolError(`timeout_s must be a number of seconds from 1 to ${limits.maxTimeoutS}`);
  }
  if (args.cwd !== undefined && typeof args.cwd !== "string") throw new ToolError("cwd must be a string");
  const cwd = resolveWorkspacePath(root, args.cwd ?? ".");
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!withheldEnv.test(key)) childEnv[key] = value;

  const started = Date.now();
  const stdout = createCappedText(limits.outputCapBytes);
  const stderr = createCappedText(limits.outputCapBytes);
  const outcome = await new Promise<{ code: number | null; signal: string | null; timedOut: boolean }>(
    (resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), {
        cwd: cwd.absolute,
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutS * 1000);
      const onAbort = () => killGroup(child.pid);
      signal?.addEventListener("abort", onAbort, { once: true });
      child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
      const signalOff = () => signal?.removeEventListener("abort", onAbort);
      child.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        signalOff();
        if (error.code === "ENOENT") reject(new ToolError(`${argv[0]}: command not found in the sandbox`));
        else if (error.code === "EACCES") reject(new ToolError(`${argv[0]}: permission denied`));
        else reject(error);
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        signalOff();
        // Children the command left behind would keep running past the tool call.
        killGroup(child.pid);
        resolve({ code, signal, timedOut });
      });
    },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const status = outcome.timedOut
    ? `timed out after ${timeoutS} s (killed)`
    : outcome.code !== null
      ? `exit code ${outcome.code}`
      : `killed by ${outcome.signal ?? "a signal"}`;
  return [
    `${status}, ${seconds} s`,
    `--- stdout${stdout.note()} ---`,
    stdout.text().replace(/\n$/, ""),
    `--- stderr${stderr.note()} ---`,
    stderr.text().replace(/\n$/, ""),
  ].join("\n");
}

function toArgv(command: unknown): string[] {
  if (typeof command === "string") {
    if (command.trim() === "") throw new ToolError("command must not be empty");
    return ["/bin/sh", "-c", command];
  }
  if (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === "string")) {
    if ((command[0] as string) === "") throw new ToolError("command[0] must name a program");
    return command as string[];
  }
  throw new ToolError(
    'give command, a shell string such as "npm test", or argv, a non-empty array such as ["npm", "test"]',
  );
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

/** Keeps the first and the last `cap / 2` bytes of a stream and counts what was dropped between. */
export function createCappedText(cap: number): { push(chunk: Buffer): void; text(): string; note(): string } {
  const half = Math.floor(cap / 2);
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  let total = 0;
  return {
    push(chunk) {
      total += chunk.length;
      if (head.length < half) {
        const take = Math.min(half - head.length, chunk.length);
        head = Buffer.concat([head, chunk.subarray(0, take)]);
        chunk = chunk.subarray(take);
      }
      if (chunk.length > 0) {
        tail = Buffer.concat([tail, chunk]);
        if (tail.length > cap - half) tail = tail.subarray(tail.length - (cap - half));
      }
    },
    text() {
      const dropped = total - head.length - tail.length;
      if (dropped <= 0) return Buffer.concat([head, tail]).toString("utf8");
      return `${head.toString("utf8")}\n[... ${dropped} bytes omitted ...]\n${tail.toString("utf8")}`;
    },
    note() {
      return total > cap ? ` (${total} bytes, capped at ${cap})` : "";
    },
  };
}
