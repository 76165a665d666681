import { execFile } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const defaultBinDir = "/usr/lib/postgresql/15/bin";

export interface ThrowawayPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: trust auth, loopback only. */
  url: string;
  port: number;
  dataDir: string;
  /** Restarts the server; `immediate` is a crash stop (recovery on start), `fast` a clean one. */
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

/**
 * A Postgres cluster of the benchmark's own, so that it may be restarted without touching
 * the machine's shared server: `initdb` into a fresh temp folder, served on a free loopback
 * port with its socket in that folder, stopped and removed by `stop()`. Postgres refuses to
 * run as root, so when the benchmark is root the folder is given to the `postgres` user and
 * every command runs as that user (`runuser`). `fsync=off`: the cluster is thrown away, and
 * a server restart (not a machine crash) loses nothing without it.
 */
export async function startThrowawayPostgres(
  options: { binDir?: string; osUser?: string } = {},
): Promise<ThrowawayPostgres> {
  const binDir = options.binDir ?? process.env.AIRLOCK_BENCH_PG_BIN ?? defaultBinDir;
  const osUser = options.osUser ?? "postgres";
  const asRoot = process.getuid?.() === 0;
  const root = await mkdtemp(join(tmpdir(), "airlock-bench-pg-"));
  const dataDir = join(root, "data");
  if (asRoot) {
    const { stdout } = await run("id", ["-u", osUser]);
    const { stdout: gid } = await run("id", ["-g", osUser]);
    await chown(root, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot
      ? run("runuser", ["-u", osUser, "--", join(binDir, tool), ...args])
      : run(join(binDir, tool), args);
  const port = await findFreePort();
  const serverOptions = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const logFile = join(root, "server.log");
  try {
    await pg("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    await pg("pg_ctl", ["start", "-w", "-t", "60", "-D", dataDir, "-l", logFile, "-o", serverOptions]);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`could not start a throwaway Postgres from ${binDir}`, { cause: error });
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async restart(mode = "immediate") {
      await pg("pg_ctl", [
        "restart",
        "-w",
        "-t",
        "60",
        "-m",
        mode,
        "-D",
        dataDir,
        "-l",
        logFile,
        "-o",
        serverOptions,
      ]);
    },
    async stop() {
      try {
        await pg("pg_ctl", ["stop", "-w", "-t", "60", "-m", "fast", "-D", dataDir]);
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
