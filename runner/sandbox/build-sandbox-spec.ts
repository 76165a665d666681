import { isAbsolute, resolve, sep } from "node:path";
import { UsageError } from "../../core/errors.ts";
import type { ContainerSpec } from "../container/container-runtime.ts";
import type { SandboxLimits } from "./sandbox-limits.ts";

/** The unprivileged user every sandbox runs as; base images create it with this uid. */
export const sandboxUser = "1001:1001";
export const sandboxHome = "/home/airlock";
export const sandboxWorkspace = "/workspace";
/** Where the run's socket directory (the LLM proxy's only door) appears inside. */
export const sandboxSocketMount = "/run/airlock";
/** Where the agent's private state lives (saved when a run parks, restored on resume; issue 10 §2). */
export const sandboxStateMount = "/airlock-state";

/**
 * The only variables a sandbox starts with besides the image's own. The runner's
 * environment holds installation tokens and API keys; copying any of it in would hand
 * them to the agent, so nothing is inherited.
 */
export const baseSandboxEnv: Readonly<Record<string, string>> = Object.freeze({
  HOME: sandboxHome,
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
});

export interface SandboxSpecInput {
  image: string;
  argv: string[];
  /** Already clamped to the operator ceiling (resolveSandboxLimits). */
  limits: SandboxLimits;
  labels: Record<string, string>;
  /** Compact JSON of the seccomp profile (loadSeccompProfile). */
  seccompProfile: string;
  /** Host folder bind-mounted read-write at /workspace. */
  workspaceDir?: string | undefined;
  /** Host folder holding the proxy socket, mounted read-only at /run/airlock. */
  socketDir?: string | undefined;
  /** Host folder bind-mounted read-write at /airlock-state (AIRLOCK_STATE_DIR): the agent's saved state. */
  stateDir?: string | undefined;
  /**
   * Add the engine's init as PID 1. Airlock's images (agent-images/base and everything
   * built on it) already run tini as PID 1, and a second tini warns on stderr; images
   * without an init need this so the deadline's SIGTERM reaches the command.
   */
  init?: boolean | undefined;
  /** Explicit extra variables (e.g. the base URLs and run token); nothing else is passed. */
  env?: Record<string, string> | undefined;
}

const dockerSocketPaths = ["/var/run/docker.sock", "/run/docker.sock"];
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The hardening policy of DESIGN §4, as one ContainerSpec. */
export function buildSandboxSpec(input: SandboxSpecInput): ContainerSpec {
  if (input.argv.length === 0 || input.argv[0] === "") {
    throw new UsageError("sandbox needs a command to run (an argument array, e.g. ['node', '--version'])");
  }
  if (!input.seccompProfile) {
    throw new UsageError("sandbox needs a seccomp profile (loadSeccompProfile)");
  }
  const env: Record<string, string> = { ...baseSandboxEnv };
  for (const [name, value] of Object.entries(input.env ?? {})) {
    // A newline or NUL would let one value smuggle a second variable into the engine's KEY=VALUE list.
    if (!envName.test(name) || /[\0\n\r]/.test(value)) {
      throw new UsageError(
        `sandbox env ${JSON.stringify(name)}: names are [A-Za-z_][A-Za-z0-9_]*, values one line`,
      );
    }
    env[name] = value;
  }
  const binds: ContainerSpec["binds"] = [];
  if (input.workspaceDir !== undefined) {
    binds.push({
      hostPath: requireAbsolute(input.workspaceDir, "workspace"),
      containerPath: sandboxWorkspace,
      readOnly: false,
    });
  }
  if (input.socketDir !== undefined) {
    // Read-only: connecting to a unix socket needs no write access to the mount, and the
    // agent must not be able to plant files or swap the socket for a symlink.
    binds.push({
      hostPath: requireAbsolute(input.socketDir, "socket directory"),
      containerPath: sandboxSocketMount,
      readOnly: true,
    });
  }
  if (input.stateDir !== undefined) {
    binds.push({
      hostPath: requireAbsolute(input.stateDir, "state directory"),
      containerPath: sandboxStateMount,
      readOnly: false,
    });
    env.AIRLOCK_STATE_DIR = sandboxStateMount;
  }
  const memoryBytes = Math.floor(input.limits.memoryMb * 1024 * 1024);
  const tmpfsMb = Math.max(1, Math.floor(input.limits.tmpfsMb));
  return {
    image: input.image,
    cmd: [...input.argv],
    env,
    user: sandboxUser,
    workingDir: input.workspaceDir !== undefined ? sandboxWorkspace : sandboxHome,
    labels: { ...input.labels },
    readonlyRootfs: true,
    capDrop: ["ALL"],
    capAdd: [],
    // no-new-privileges: a setuid binary in the image cannot raise the agent's privileges.
    securityOpt: ["no-new-privileges", `seccomp=${input.seccompProfile}`],
    networkMode: "none",
    pidsLimit: Math.floor(input.limits.pids),
    memoryBytes,
    // Swap equal to memory: no swap at all, so a memory bomb is OOM-killed instead of thrashing the host.
    memorySwapBytes: memoryBytes,
    nanoCpus: Math.round(input.limits.cpus * 1e9),
    tmpfs: {
      // noexec: a downloaded payload cannot be run from the only writable scratch space.
      "/tmp": `rw,noexec,nosuid,nodev,size=${tmpfsMb}m`,
      // HOME must be writable (git, npm caches) while the rootfs is read-only.
      [sandboxHome]: `rw,noexec,nosuid,nodev,size=${tmpfsMb}m,uid=1001,gid=1001,mode=0700`,
    },
    binds,
    openStdin: false,
    // A process as PID 1 ignores SIGTERM without a handler and never reaps zombies.
    init: input.init ?? false,
  };
}

function requireAbsolute(path: string, what: string): string {
  if (!isAbsolute(path))
    throw new UsageError(`sandbox ${what} must be an absolute host path, got ${JSON.stringify(path)}`);
  // A ":" would be read by the engine as the separator of its "host:container:mode" bind syntax.
  if (path.includes(":"))
    throw new UsageError(`sandbox ${what} path must not contain ":", got ${JSON.stringify(path)}`);
  const normalized = resolve(path);
  // The Docker socket is root on the host: a folder that contains it must never be mounted.
  for (const socket of dockerSocketPaths) {
    if (normalized === sep || socket === normalized || socket.startsWith(normalized + sep)) {
      throw new UsageError(
        `sandbox ${what} ${JSON.stringify(path)} would expose the Docker socket ${socket}; use a dedicated folder`,
      );
    }
  }
  return normalized;
}
