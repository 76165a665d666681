import type { ContainerRuntime } from "../container/container-runtime.ts";
import { ImageBuildError } from "./image-build-error.ts";

/** Fails with how to start Docker when the engine does not answer. */
export async function assertEngineReachable(runtime: ContainerRuntime): Promise<void> {
  try {
    await runtime.ping();
  } catch (error) {
    throw new ImageBuildError(
      "Docker is not reachable. Start it (e.g. `sudo systemctl start docker`, or `sudo dockerd &` " +
        "where there is no systemd) and check that this user may use its socket, or set DOCKER_HOST " +
        `to where it listens. (${(error as Error).message})`,
      { cause: error },
    );
  }
}
