import "./defer-dockerode-extras.ts";
import { PassThrough, type Writable } from "node:stream";
import Docker from "dockerode";
import type { Logger } from "../../core/logger.ts";
import {
  ContainerRuntimeError,
  type AttachedStreams,
  type BuildImageOptions,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
  type ImageInfo,
} from "./container-runtime.ts";

export interface DockerRuntimeOptions {
  /** DOCKER_HOST-style address; default: the engine's local socket. */
  dockerHost?: string | undefined;
  logger: Logger;
}

/** The dockerode adapter. Every call logs before, after and on failure, with the container id. */
export function createDockerContainerRuntime(options: DockerRuntimeOptions): ContainerRuntime {
  const docker = new Docker(dockerConnectOptions(options.dockerHost));
  const log = options.logger.child({ component: "docker" });

  async function call<T>(op: string, fields: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    log.debug({ op, ...fields }, `docker ${op}`);
    try {
      const result = await fn();
      log.debug({ op, ...fields }, `docker ${op} done`);
      return result;
    } catch (error) {
      const statusCode = (error as { statusCode?: number }).statusCode;
      log.warn({ op, ...fields, statusCode, err: (error as Error).message }, `docker ${op} failed`);
      if (error instanceof ContainerRuntimeError) throw error;
      throw new ContainerRuntimeError(`docker ${op} failed: ${(error as Error).message}`, {
        cause: error,
        statusCode,
      });
    }
  }

  return {
    ping: () =>
      call("ping", {}, async () => {
        await docker.ping();
      }),

    createContainer: (spec) =>
      call("create", { image: spec.image, labels: spec.labels }, async () => {
        const container = await docker.createContainer(toCreateOptions(spec));
        log.info({ containerId: container.id, image: spec.image }, "container created");
        return container.id;
      }),

    attachContainer: (id, { stdin }) =>
      call("attach", { containerId: id }, async (): Promise<AttachedStreams> => {
        const stream = (await docker.getContainer(id).attach({
          stream: true,
          stdout: true,
          stderr: true,
          stdin,
          hijack: stdin,
        })) as NodeJS.ReadWriteStream;
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        docker.modem.demuxStream(stream, stdout, stderr);
        stream.on("end", () => {
          stdout.end();
          stderr.end();
        });
        stream.on("error", (error) => {
          stdout.destroy(error as Error);
          stderr.destroy(error as Error);
        });
        return {
          stdout,
          stderr,
          stdin: stdin ? (stream as unknown as Writable) : undefined,
          close: () => (stream as unknown as Writable).destroy(),
        };
      }),

    startContainer: (id) =>
      call("start", { containerId: id }, async () => {
        await docker.getContainer(id).start();
      }),

    waitContainer: (id) =>
      call("wait", { containerId: id }, async () => {
        const result = (await docker.getContainer(id).wait()) as { StatusCode: number };
        return { exitCode: result.StatusCode };
      }),

    inspectContainer: (id) =>
      call("inspect", { containerId: id }, async () => {
        const info = await docker.getContainer(id).inspect();
        const state: ContainerState = {
          running: info.State.Running,
          exitCode: info.State.Running ? null : info.State.ExitCode,
          oomKilled: info.State.OOMKilled,
          startedAt: info.State.StartedAt || undefined,
          finishedAt: info.State.FinishedAt || undefined,
        };
        return { ...state, raw: info };
      }),

    killContainer: (id, signal) =>
      call("kill", { containerId: id, signal }, async () => {
        try {
          await docker.getContainer(id).kill({ signal });
        } catch (error) {
          // 409: not running any more; 404: gone. Both mean the kill's goal is met.
          const status = (error as { statusCode?: number }).statusCode;
          if (status !== 409 && status !== 404) throw error;
        }
      }),

    removeContainer: (id) =>
      call("remove", { containerId: id }, async () => {
        try {
          await docker.getContainer(id).remove({ force: true, v: true });
        } catch (error) {
          const status = (error as { statusCode?: number }).statusCode;
          // 404: already gone; 409: removal already in progress.
          if (status !== 404 && status !== 409) throw error;
        }
      }),

    listContainers: (labels) =>
      call("list", { labels }, async () => {
        const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
        const list = await docker.listContainers({ all: true, filters });
        return list.map((c) => ({ id: c.Id, labels: c.Labels ?? {} }));
      }),

    inspectImage: (ref) =>
      call("inspect-image", { image: ref }, async () => {
        try {
          return toImageInfo(await docker.getImage(ref).inspect());
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return undefined;
          throw error;
        }
      }),

    pullImage: (ref) =>
      call("pull", { image: ref }, async () => {
        const stream = (await docker.pull(ref)) as NodeJS.ReadableStream;
        let failure: string | undefined;
        await new Promise<void>((resolve, reject) => {
          docker.modem.followProgress(
            stream,
            (error: Error | null) => (error ? reject(error) : resolve()),
            (event: { error?: string; errorDetail?: { message?: string } }) => {
              if (event.error) failure = event.errorDetail?.message ?? event.error;
            },
          );
        });
        if (failure) throw new ContainerRuntimeError(`pull of ${ref} failed: ${failure}`);
        const info = toImageInfo(await docker.getImage(ref).inspect());
        log.info({ image: ref, imageId: info.id }, "image pulled");
        return info;
      }),

    buildImage: (opts: BuildImageOptions) =>
      call("build", { tags: opts.tags, dockerfile: opts.dockerfile }, async () => {
        const [first, ...more] = opts.tags;
        if (!first) throw new ContainerRuntimeError("image build needs at least one tag");
        // Loaded on use: only image builds need it, and every `sandbox exec` pays for imports.
        const { default: tar } = await import("tar-fs");
        const context = tar.pack(opts.contextDir);
        const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
          t: first,
          dockerfile: opts.dockerfile,
          buildargs: opts.buildArgs ?? {},
          labels: opts.labels ?? {},
          networkmode: opts.network === false ? "none" : "default",
          rm: true,
          forcerm: true,
          nocache: opts.noCache ?? false,
        });
        let failure: string | undefined;
        await new Promise<void>((resolve, reject) => {
          docker.modem.followProgress(
            stream,
            (error: Error | null) => (error ? reject(error) : resolve()),
            (event: {
              stream?: string;
              error?: string;
              errorDetail?: { message?: string };
              status?: string;
            }) => {
              if (event.error) failure = event.errorDetail?.message ?? event.error;
              const text = event.stream ?? event.status ?? event.error;
              if (text && opts.onProgress) {
                for (const line of text.split("\n")) if (line.trim()) opts.onProgress(line);
              }
            },
          );
        });
        if (failure) throw new ContainerRuntimeError(`image build failed: ${failure}`);
        for (const tag of more) {
          const colon = tag.lastIndexOf(":");
          const [repo, tagName] =
            colon > tag.lastIndexOf("/") ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, "latest"];
          await docker.getImage(first).tag({ repo, tag: tagName });
        }
        const info = await docker.getImage(first).inspect();
        return toImageInfo(info);
      }),

    execInContainer: (id, argv) =>
      call("exec", { containerId: id }, async () => {
        const exec = await docker
          .getContainer(id)
          .exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
        const stream = await exec.start({ hijack: true, stdin: false });
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on("data", (c: Buffer) => chunks.push(c));
        docker.modem.demuxStream(stream, out, out);
        await new Promise<void>((resolve, reject) => {
          stream.on("end", () => resolve());
          stream.on("error", reject);
        });
        const info = await exec.inspect();
        return { exitCode: info.ExitCode ?? -1, output: Buffer.concat(chunks).toString("utf8") };
      }),
  };
}

function dockerConnectOptions(dockerHost: string | undefined): Docker.DockerOptions {
  if (!dockerHost) return { socketPath: "/var/run/docker.sock" };
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
}

function toCreateOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    ...(spec.name ? { name: spec.name } : {}),
    Image: spec.image,
    Cmd: spec.cmd,
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    User: spec.user,
    ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
    Labels: spec.labels,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: spec.openStdin ?? false,
    OpenStdin: spec.openStdin ?? false,
    StdinOnce: spec.openStdin ?? false,
    Tty: false,
    HostConfig: {
      ReadonlyRootfs: spec.readonlyRootfs,
      CapDrop: spec.capDrop,
      CapAdd: spec.capAdd ?? [],
      SecurityOpt: spec.securityOpt,
      NetworkMode: spec.networkMode,
      PidsLimit: spec.pidsLimit,
      Memory: spec.memoryBytes,
      MemorySwap: spec.memorySwapBytes,
      NanoCpus: spec.nanoCpus,
      Tmpfs: spec.tmpfs,
      Binds: spec.binds.map((b) => `${b.hostPath}:${b.containerPath}:${b.readOnly ? "ro" : "rw"}`),
      Init: spec.init ?? false,
      Ulimits: (spec.ulimits ?? []).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })),
      ...(spec.shmSizeBytes ? { ShmSize: spec.shmSizeBytes } : {}),
      AutoRemove: false,
      Privileged: false,
      IpcMode: "private",
      LogConfig: { Type: "none", Config: {} },
    },
  };
}

function toImageInfo(info: Docker.ImageInspectInfo): ImageInfo {
  return {
    id: info.Id,
    repoTags: info.RepoTags ?? [],
    labels: info.Config?.Labels ?? {},
    created: info.Created,
    sizeBytes: info.Size,
  };
}
