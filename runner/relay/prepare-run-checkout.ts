import { access, copyFile, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { Logger } from "../../core/logger.ts";
import { chownTree } from "./chown-tree.ts";
import { exportCommitFiles } from "./export-commit-files.ts";
import { gitCredentialsSchema, type GitCredentials } from "./git-credentials.ts";
import { openGitRunner, type GitAuth, type GitRunner } from "./git-runner.ts";
import { linkMirrorObjects } from "./link-mirror-objects.ts";
import { parseGitRemote, type GitRemote } from "./parse-git-remote.ts";
import { pruneMirrorCache } from "./prune-mirror-cache.ts";
import { RelayError } from "./relay-error.ts";
import { MirrorReadError, syncRepositoryMirror, type MirrorCache } from "./sync-repository-mirror.ts";
import { trustLocalRepository } from "./trust-local-repository.ts";
import { airlockIdentity } from "./write-relay-commit.ts";

export type PrepareRunCheckoutInput = {
  /** A local path or a git URL (`--repo`). */
  repo: string;
  runId: string;
  /** Host folder for this run; created, and must not already hold a checkout. */
  baseDir: string;
  /** Branch, tag or commit to start from; the repository's default branch when absent. */
  ref?: string | undefined;
  credentials?: GitCredentials | undefined;
  logger: Logger;
  /** Owner of the workspace files: the sandbox user (1001:1001). Applied only when running as root. */
  workspaceOwner?: { uid: number; gid: number } | undefined;
  /**
   * Creates the (absent) workspace folder; default a plain mkdir. The runner passes one that
   * mounts a disk-capped filesystem there (AIRLOCK_MAX_DISK_MB), so the checkout is written into it.
   */
  createWorkspace?: ((dir: string) => Promise<void>) | undefined;
  /** Give the workspace a throwaway `.git` with one commit so agents can `git diff`; the relay ignores it. */
  initWorkspaceGit?: boolean | undefined;
  /**
   * Issue 15: keep a mirror of the repository here and fetch only what changed since the
   * last run; absent, every run clones the whole repository.
   */
  mirrorCache?: MirrorCache | undefined;
  signal?: AbortSignal | undefined;
};

export type RunCheckout = { hostClone: string; workspace: string; baseCommit: string; defaultBranch: string };

/** Written in baseDir so removeRunCheckout only ever deletes a folder this module made. */
export const runCheckoutMarker = ".airlock-run";

// Takes precedence over every .gitattributes in the tree: the repository cannot switch on
// export-ignore/export-subst (a workspace that differs from the commit) or a filter.
const neutralAttributes =
  "* -export-ignore -export-subst -filter -text -eol -ident -working-tree-encoding -diff -merge\n";

/**
 * Step 3 of DESIGN §1: clones the repository into `<baseDir>/host` (the host's own
 * clone; never mounted), or with `mirrorCache` fills it from the host's mirror of the
 * repository after fetching what changed, and writes the files of the base commit into
 * `<baseDir>/workspace` (mounted at /workspace) without the host clone's `.git`, so
 * nothing the agent can read holds a credential, the host's git config, or a path into
 * the mirror cache.
 */
export async function prepareRunCheckout(input: PrepareRunCheckoutInput): Promise<RunCheckout> {
  const logger = input.logger.child({ runId: input.runId });
  if (!isAbsolute(input.baseDir)) {
    throw new RelayError(`The run folder "${input.baseDir}" must be an absolute path.`);
  }
  const hostClone = join(input.baseDir, "host");
  const workspace = join(input.baseDir, "workspace");
  await mkdir(input.baseDir, { recursive: true, mode: 0o700 });
  const existing = (await readdir(input.baseDir)).filter((n) => n !== runCheckoutMarker);
  if (existing.length > 0) {
    throw new RelayError(`The run folder ${input.baseDir} is not empty; remove it or choose another one.`);
  }
  await writeFile(join(input.baseDir, runCheckoutMarker), `${input.runId}\n`);
  const remote = parseGitRemote(input.repo);
  const credentials =
    input.credentials !== undefined
      ? gitCredentialsSchema.parse(input.credentials)
      : remote.embeddedCredentials;
  const auth = authFor(remote, credentials);
  if (credentials !== undefined && auth === undefined) {
    logger.warn({ kind: remote.kind }, "git credentials are only used for http(s) remotes; ignoring them");
  }
  if (remote.kind === "path") {
    await access(remote.location).catch((error: unknown) => {
      throw new RelayError(`The repository path ${remote.location} does not exist.`, { cause: error });
    });
  }
  const git = await openGitRunner({ logger });
  const createWorkspace =
    input.createWorkspace ?? ((dir: string) => mkdir(dir, { mode: 0o755 }).then(() => undefined));
  try {
    const remoteEnv = remote.kind === "path" ? await trustLocalRepository(git, remote.location) : undefined;
    logger.info(
      { remoteKind: remote.kind, mirror: input.mirrorCache !== undefined },
      "fetching the repository",
    );
    const packWorkspaceTree = input.initWorkspaceGit ?? true;
    const exportInput: ExportInput = {
      git,
      remote,
      auth,
      remoteEnv,
      hostClone,
      workspace,
      createWorkspace,
      ref: input.ref,
      packWorkspaceTree,
    };
    const { baseCommit, defaultBranch, workspacePack } =
      input.mirrorCache === undefined
        ? await cloneAndExport(exportInput)
        : await exportFromMirror({
            ...exportInput,
            cache: input.mirrorCache,
            logger,
            signal: input.signal,
          });
    if (workspacePack !== undefined) await initWorkspaceGit(git, workspace, baseCommit, workspacePack);
    const owner = input.workspaceOwner ?? { uid: 1001, gid: 1001 };
    if (process.getuid?.() === 0) {
      await chownTree(workspace, owner.uid, owner.gid);
    } else {
      logger.warn({ uid: process.getuid?.() }, "not running as root: the workspace stays owned by this user");
    }
    logger.info({ baseCommit, defaultBranch }, "run checkout prepared");
    return { hostClone, workspace, baseCommit, defaultBranch };
  } finally {
    await git.close();
  }
}

type ExportInput = {
  git: GitRunner;
  remote: GitRemote;
  auth: GitAuth | undefined;
  remoteEnv: Record<string, string> | undefined;
  hostClone: string;
  workspace: string;
  createWorkspace: (dir: string) => Promise<void>;
  ref: string | undefined;
  /** Also pack the base tree for the workspace's own `.git`, beside the export (2 cores). */
  packWorkspaceTree: boolean;
};

type ExportedBase = { baseCommit: string; defaultBranch: string; workspacePack?: PackedTree | undefined };

/** Without a mirror: a full clone of the repository per run. */
async function cloneAndExport(input: ExportInput): Promise<ExportedBase> {
  const { git } = input;
  // --no-local: a local source is read through the pack protocol, not by copying or
  // hard-linking its .git (whose symlinks a crafted repository could aim elsewhere).
  await git.run(
    ["clone", "--no-checkout", "--no-local", "--quiet", "--", input.remote.location, input.hostClone],
    {
      auth: input.auth,
      env: input.remoteEnv,
    },
  );
  const gitDir = join(input.hostClone, ".git");
  await writeFile(join(gitDir, "info", "attributes"), neutralAttributes);
  const defaultBranch = await readDefaultBranch(git, gitDir);
  const baseCommit = await resolveBase(git, gitDir, input.ref, "refs/remotes/origin/");
  await git.run(["update-ref", "--no-deref", "HEAD", baseCommit], { gitDir });
  await input.createWorkspace(input.workspace);
  const workspacePack = await exportBeside(
    exportCommitFiles(git, gitDir, baseCommit, input.workspace),
    input.packWorkspaceTree ? packBaseTree(git, gitDir, baseCommit) : undefined,
  );
  return { baseCommit, defaultBranch, workspacePack };
}

/**
 * With a mirror (issue 15): fetch what changed into the host's mirror, give the host clone
 * the mirror's objects by hard link (no copy, and no `alternates` path back into the
 * cache), and write the base's files, all under the mirror's lock. The export reads every
 * blob of the base, so a corrupt mirror shows here and is rebuilt once (MirrorReadError).
 * The workspace only ever receives files, never an object or a path of the mirror.
 */
async function exportFromMirror(
  input: ExportInput & {
    cache: MirrorCache;
    logger: Logger;
    signal: AbortSignal | undefined;
  },
): Promise<ExportedBase> {
  const { git } = input;
  const gitDir = join(input.hostClone, ".git");
  await input.createWorkspace(input.workspace);
  const exported = await syncRepositoryMirror(
    {
      git,
      cacheDir: input.cache.dir,
      remote: input.remote,
      auth: input.auth,
      remoteEnv: input.remoteEnv,
      logger: input.logger,
      signal: input.signal,
    },
    async (mirror) => {
      const defaultBranch = await readDefaultBranch(git, mirror.gitDir);
      const baseCommit = await resolveBase(git, mirror.gitDir, input.ref, "refs/heads/");
      await rm(input.hostClone, { recursive: true, force: true });
      await emptyFolder(input.workspace);
      // No template: nothing to copy (sample hooks), and nothing of ours runs anyway.
      await git.run(["init", "--quiet", "--template=", "--", input.hostClone]);
      await mkdir(join(gitDir, "info"));
      await writeFile(join(gitDir, "info", "attributes"), neutralAttributes);
      const linked = await linkMirrorObjects(mirror.gitDir, gitDir);
      input.logger.debug({ linked }, "mirror objects linked into the host clone");
      await git.run(["update-ref", "--no-deref", "HEAD", baseCommit], { gitDir });
      const workspacePack = await exportBeside(
        exportCommitFiles(git, gitDir, baseCommit, input.workspace),
        input.packWorkspaceTree ? packBaseTree(git, gitDir, baseCommit) : undefined,
      ).catch((error: unknown) => {
        throw new MirrorReadError(`Could not write the files of ${baseCommit} from the mirror.`, {
          cause: error,
        });
      });
      input.logger.debug("base files written");
      return { baseCommit, defaultBranch, workspacePack, mirror: mirror.name };
    },
  );
  const pruned = await pruneMirrorCache({
    dir: input.cache.dir,
    maxMb: input.cache.maxMb,
    keep: exported.mirror,
    logger: input.logger,
  });
  input.logger.debug({ mirrorCacheBytes: pruned.bytes }, "mirror cache measured");
  return {
    baseCommit: exported.baseCommit,
    defaultBranch: exported.defaultBranch,
    workspacePack: exported.workspacePack,
  };
}

/** Empties a folder that may be a mount point (AIRLOCK_MAX_DISK_MB), keeping the folder itself. */
async function emptyFolder(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry === "lost+found") continue;
    await rm(join(dir, entry), { recursive: true, force: true });
  }
}

function authFor(remote: GitRemote, credentials: GitCredentials | undefined): GitAuth | undefined {
  if (credentials === undefined || remote.httpOrigin === undefined) return undefined;
  return { credentials, httpOrigin: remote.httpOrigin };
}

async function readDefaultBranch(git: GitRunner, gitDir: string): Promise<string> {
  const head = await git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], { gitDir, okExitCodes: [1] });
  return head.stdout.toString().trim();
}

async function resolveBase(
  git: GitRunner,
  gitDir: string,
  ref: string | undefined,
  branchPrefix: "refs/remotes/origin/" | "refs/heads/",
): Promise<string> {
  if (ref !== undefined && (ref.startsWith("-") || /[\0-\x20~^:?*[\\]/.test(ref))) {
    throw new RelayError(`The ref "${ref}" is not a branch, tag or commit name.`);
  }
  const candidates = ref === undefined ? ["HEAD"] : [`${branchPrefix}${ref}`, `refs/tags/${ref}`, ref];
  for (const candidate of candidates) {
    const found = await git.run(
      ["rev-parse", "--verify", "--quiet", "--end-of-options", `${candidate}^{commit}`],
      {
        gitDir,
        okExitCodes: [1, 128],
      },
    );
    const sha = found.stdout.toString().trim();
    if (found.exitCode === 0 && sha !== "") return sha;
  }
  throw new RelayError(
    ref === undefined
      ? "The repository has no commits; push one first."
      : `The ref "${ref}" is not a branch, tag or commit of the repository.`,
  );
}

type PackedTree = { tree: string; dir: string };

/** Waits for both (neither left running when the other fails), then throws the first failure. */
async function exportBeside(
  exported: Promise<void>,
  packed: Promise<PackedTree> | undefined,
): Promise<PackedTree | undefined> {
  const [files, pack] = await Promise.allSettled([exported, packed]);
  if (files.status === "rejected") throw files.reason;
  if (pack.status === "rejected") throw pack.reason;
  return pack.value;
}

/**
 * One pack of the base tree's trees and blobs (as many objects as files, no commit, no
 * history), written into a folder of the host clone for the workspace's own `.git`.
 */
async function packBaseTree(git: GitRunner, hostGitDir: string, baseCommit: string): Promise<PackedTree> {
  const dir = join(hostGitDir, "airlock-workspace-pack");
  await mkdir(dir);
  const tree = (
    await git.run(["rev-parse", "--verify", `${baseCommit}^{tree}`], { gitDir: hostGitDir })
  ).stdout
    .toString()
    .trim();
  const listed = await git.run(["ls-tree", "-r", "-t", "-z", "--full-tree", tree], { gitDir: hostGitDir });
  const objects = [tree];
  for (const record of listed.stdout.toString("utf8").split("\0")) {
    // `<mode> <type> <oid>\t<path>`; a submodule's commit is not in this repository.
    const [, type, oid] = /^\d{6} (\w+) ([0-9a-f]+)\t/.exec(record) ?? [];
    if ((type === "blob" || type === "tree") && oid !== undefined) objects.push(oid);
  }
  await git.run(["pack-objects", "-q", join(dir, "pack")], {
    gitDir: hostGitDir,
    input: `${objects.join("\n")}\n`,
  });
  return { tree, dir };
}

/**
 * A throwaway repository for the agent's own `git diff`/`git status`. Created before
 * the agent starts, so its content is ours; afterwards it is the agent's, and the relay
 * never reads it. It holds the base tree's pack (packBaseTree: moved in, no link to the
 * host clone) and one commit of that tree by Airlock; `git add` of every file wrote the
 * same objects loose and cost seconds on a big tree (issue 15).
 */
async function initWorkspaceGit(
  git: GitRunner,
  workspace: string,
  baseCommit: string,
  pack: PackedTree,
): Promise<void> {
  const gitDir = join(workspace, ".git");
  const options = { gitDir, cwd: workspace, env: { GIT_WORK_TREE: workspace } };
  await git.run(["init", "--quiet"], options);
  await writeFile(join(gitDir, "info", "exclude"), ".airlock/\n");
  for (const name of await readdir(pack.dir)) {
    const target = join(gitDir, "objects", "pack", name);
    // The workspace may be its own filesystem (AIRLOCK_MAX_DISK_MB): then copy.
    await rename(join(pack.dir, name), target).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "EXDEV") throw error;
      await copyFile(join(pack.dir, name), target);
    });
  }
  await rm(pack.dir, { recursive: true, force: true });
  // No stat data in this index: the agent's first `git status` hashes the files once, in
  // the sandbox's time; refreshing here cost the prepare as much (issue 15).
  await git.run(["read-tree", pack.tree], options);
  const identity = {
    GIT_AUTHOR_NAME: airlockIdentity.name,
    GIT_AUTHOR_EMAIL: airlockIdentity.email,
    GIT_COMMITTER_NAME: airlockIdentity.name,
    GIT_COMMITTER_EMAIL: airlockIdentity.email,
  };
  const commit = (
    await git.run(["commit-tree", pack.tree, "-m", `Base ${baseCommit}`], {
      ...options,
      env: { ...options.env, ...identity },
    })
  ).stdout
    .toString()
    .trim();
  await git.run(["update-ref", "HEAD", commit], options);
}
