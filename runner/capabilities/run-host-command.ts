import { execFile } from "node:child_process";

export interface HostCommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Run a program on the host with an argument vector, never through a shell (a request's
 * name is an argument, not shell text), with a timeout and an output cap. A program that
 * exits non-zero is a result, not an error; one that cannot start or times out throws.
 */
export function runHostCommand(
  file: string,
  args: readonly string[],
  options: { timeoutMs: number; maxOutputBytes?: number; env?: NodeJS.ProcessEnv },
): Promise<HostCommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs,
        maxBuffer: options.maxOutputBytes ?? 8 * 1024 * 1024,
        encoding: "utf8",
        env: options.env ?? process.env,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (error && (error.killed || typeof error.code !== "number")) {
          reject(error);
          return;
        }
        resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}
