import { getExecOutput } from "@actions/exec";
import { ActionError } from "./action-error.ts";

/** One docker CLI call; its output streams to the job log (secrets never go in `args`). */
export async function runDocker(
  args: string[],
  options: { input?: Buffer; env?: Record<string, string>; silent?: boolean } = {},
): Promise<string> {
  const result = await getExecOutput("docker", args, {
    ignoreReturnCode: true,
    silent: options.silent ?? false,
    ...(options.input ? { input: options.input } : {}),
    ...(options.env ? { env: { ...process.env, ...options.env } as Record<string, string> } : {}),
  });
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split("\n").slice(-20).join("\n");
    throw new ActionError(
      "docker_failed",
      `docker ${args[0] ?? ""} failed (exit ${result.exitCode}): ${tail}`,
    );
  }
  return result.stdout;
}
