import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/airlock.js", import.meta.url));

export interface AirlockProcess {
  child: ChildProcess;
  /** The first stdout line (the "listening" / "working" line). */
  ready: string;
  /** http://127.0.0.1:<port> of its HTTP server. */
  url: string;
  /** Everything written to stderr so far: pino JSON lines, for failure messages. */
  logs(): string;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `airlock <command>` as a real child process, as an operator starts it. Resolves once it
 * prints its ready line; rejects with its logs if it exits first.
 */
export async function startAirlockProcess(
  command: "app" | "runner" | "up",
  env: Record<string, string>,
  options: { cwd?: string } = {},
): Promise<AirlockProcess> {
  const child = spawn(process.execPath, [bin, command], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = await new Promise<string>((resolve, reject) => {
    let out = "";
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const newline = out.indexOf("\n");
      if (newline >= 0) {
        child.stdout!.off("data", onData);
        resolve(out.slice(0, newline));
      }
    };
    child.stdout!.on("data", onData);
    void exited.then((code) =>
      reject(new Error(`airlock ${command} exited with ${String(code)} before it was ready:\n${stderr}`)),
    );
  });
  child.stdout!.resume();
  const port = /http:\/\/[^:\s]+:(\d+)/.exec(ready)?.[1];
  return {
    child,
    ready,
    url: `http://127.0.0.1:${port ?? "0"}`,
    logs: () => stderr,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
