import { PassThrough } from "node:stream";
import { main } from "../../cli/main.ts";

/**
 * `airlock <args>` in-process, as bin/airlock.js runs it; its exit code and what it printed.
 * `env` is all the command sees (silent logs and nothing else unless given).
 */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = { AIRLOCK_LOG_LEVEL: "silent" },
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await main(args, env, stdout, stderr);
  return { code, out, err };
}
