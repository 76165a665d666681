import type { Readable, Writable } from "node:stream";

/**
 * The one port to a container engine. `docker-container-runtime.ts` is its only
 * implementation and the only file that imports dockerode. Policy (what hardening a
 * sandbox gets) lives in `runner/sandbox/`; this layer maps a spec 1:1 onto the engine.
 */
export interface ContainerSpec {
  name?: string;
  image: string;
  /** Argument array; never a shell string. */
  cmd: string[];
  entrypoint?: string[];
  env: Record<string, string>;
  /** "uid:gid" */
  user: string;
  workingDir?: string;
  labels: Record<string, string>;
  readonlyRootfs: boolean;
  capDrop: string[];
  capAdd?: string[];
  /** e.g. "no-new-privileges", "seccomp=<profile JSON>" */
  securityOpt: string[];
  networkMode: string;
  pidsLimit: number;
  memoryBytes: number;
  memorySwapBytes: number;
  nanoCpus: number;
  /** mount point → options, e.g. { "/tmp": "rw,noexec,nosuid,size=64m" } */
  tmpfs: Record<string, string>;
  binds: { hostPath: string; containerPath: string; readOnly: boolean }[];
  /** Keep stdin open (attach writes to it). */
  openStdin?: boolean;
  /** Use the engine's init as PID 1 (reaps zombies, forwards signals). */
  init?: boolean;
  ulimits?: { name: string; soft: number; hard: number }[];
  shmSizeBytes?: number;
}

export interface ContainerState {
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: string | undefined;
  finishedAt: string | undefined;
}

export interface ImageInfo {
  id: string;
  repoTags: string[];
  labels: Record<string, string>;
  created: string;
  sizeBytes: number;
}

export interface BuildImageOptions {
  /** Folder sent as the build context. */
  contextDir: string;
  /** Dockerfile path relative to contextDir. */
  dockerfile: string;
  tags: string[];
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  /** Each line of build output, as it arrives. */
  onProgress?: (line: string) => void;
  /** Build with the engine's default network (package installs); default true. */
  network?: boolean;
  /** Ignore the engine's layer cache (`--no-cache`). */
  noCache?: boolean;
}

export interface AttachedStreams {
  stdout: Readable;
  stderr: Readable;
  stdin: Writable | undefined;
  /**
   * Close the connection to the engine. Needed when the container is removed without
   * having run: the engine then never ends the attach, and the open socket would keep
   * the process alive.
   */
  close(): void;
}

export interface ContainerRuntime {
  /** Throws a ContainerRuntimeError when the engine is unreachable. */
  ping(): Promise<void>;
  createContainer(spec: ContainerSpec): Promise<string>;
  /** Attach before start so no output is lost. */
  attachContainer(id: string, options: { stdin: boolean }): Promise<AttachedStreams>;
  startContainer(id: string): Promise<void>;
  waitContainer(id: string): Promise<{ exitCode: number }>;
  inspectContainer(id: string): Promise<ContainerState & { raw: unknown }>;
  killContainer(id: string, signal: string): Promise<void>;
  /** Force-removes; a container that is already gone is not an error. */
  removeContainer(id: string): Promise<void>;
  /** Ids of containers (running or not) carrying all of these labels. */
  listContainers(labels: Record<string, string>): Promise<{ id: string; labels: Record<string, string> }[]>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /**
   * Pulls `ref` (a `repo:tag@sha256:…` reference pulls exactly that digest) from its
   * registry, with the engine's own credentials; the pulled image's info.
   */
  pullImage(ref: string): Promise<ImageInfo>;
  buildImage(options: BuildImageOptions): Promise<ImageInfo>;
  /** Run argv in a running container, returning its exit code and output (for tests and checks). */
  execInContainer(id: string, argv: string[]): Promise<{ exitCode: number; output: string }>;
}

export class ContainerRuntimeError extends Error {
  readonly code = "container_runtime";
  readonly statusCode: number | undefined;
  constructor(message: string, options: { cause?: unknown; statusCode?: number | undefined } = {}) {
    super(message, { cause: options.cause });
    this.name = "ContainerRuntimeError";
    this.statusCode = options.statusCode;
  }
}
