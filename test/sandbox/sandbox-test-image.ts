import { execFileSync } from "node:child_process";
import { baseImageRef } from "../../runner/images/base-image-ref.ts";

/**
 * The image sandbox tests run: Airlock's base image when it has been built (it brings
 * tini as PID 1), else the offline Debian image with the engine's init added.
 */
export function pickSandboxTestImage(): { image: string; init: boolean } {
  const base = baseImageRef();
  try {
    execFileSync("docker", ["image", "inspect", base], { stdio: "ignore" });
    return { image: base, init: false };
  } catch {
    return { image: "debian:bookworm-slim", init: true };
  }
}

/** Ids of containers (running or not) carrying this label, straight from the docker CLI. */
export function listContainersByLabel(label: string): string[] {
  const out = execFileSync("docker", ["ps", "-a", "-q", "--filter", `label=${label}`], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.trim() !== "");
}
