// Airlock's sandbox hardening spelled as `docker run` flags, for the benchmarks' third row:
// the same policy (runner/sandbox/build-sandbox-spec.ts) started by the docker CLI splits
// what the hardening costs the engine from what Airlock's own process costs.
import { buildSandboxSpec } from "../runner/sandbox/build-sandbox-spec.ts";
import { defaultSeccompProfilePath } from "../runner/sandbox/load-seccomp-profile.ts";
import { defaultSandboxLimits } from "../runner/sandbox/sandbox-limits.ts";

/** The sandbox policy as docker CLI flags (the CLI reads the seccomp profile from its path). */
export function dockerHardeningFlags(image: string): string[] {
  const spec = buildSandboxSpec({
    image,
    argv: ["true"],
    limits: defaultSandboxLimits,
    labels: {},
    seccompProfile: "{}",
  });
  return [
    ...["--user", spec.user, "--network", spec.networkMode, "--pids-limit", String(spec.pidsLimit)],
    ...["--memory", `${spec.memoryBytes}b`, "--memory-swap", `${spec.memorySwapBytes}b`],
    ...["--cpus", String(spec.nanoCpus / 1e9), "--log-driver", "none"],
    ...(spec.readonlyRootfs ? ["--read-only"] : []),
    ...spec.capDrop.flatMap((cap) => ["--cap-drop", cap]),
    ...spec.securityOpt.flatMap((opt) => [
      "--security-opt",
      opt.startsWith("seccomp=") ? `seccomp=${defaultSeccompProfilePath}` : opt,
    ]),
    ...Object.entries(spec.tmpfs).flatMap(([path, options]) => ["--tmpfs", `${path}:${options}`]),
    ...Object.entries(spec.env).flatMap(([name, value]) => ["--env", `${name}=${value}`]),
    ...(spec.init ? ["--init"] : []),
  ];
}
