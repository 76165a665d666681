import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The machine's cache of pinned npm tarballs, shared by every checkout on this machine
 * (issue 12: the agent CLIs' platform binaries are 170-190 MB compressed each; one
 * machine fetches each of them once). `AIRLOCK_PACKAGE_CACHE` overrides it; the default
 * follows XDG: `$XDG_CACHE_HOME/airlock/npm`, else `~/.cache/airlock/npm`.
 */
export function readPackageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.AIRLOCK_PACKAGE_CACHE?.trim();
  if (explicit) return explicit;
  const xdg = env.XDG_CACHE_HOME?.trim();
  return join(xdg || join(homedir(), ".cache"), "airlock", "npm");
}
