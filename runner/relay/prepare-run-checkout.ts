import { access, mkdir, readdir, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import type { Logger } from "../../core/logger.ts";
import { chownTree } from "./chown-tree.ts";
import { exportCommitFiles } from "./export-commit-files.ts";
import { gitCredentialsSchema, type GitCredentials } from "./git-credentials.ts";
import { openGitRunner, type GitAuth, type GitRunner } from "./git-runner.ts";
import { parseGitRemote, type GitRemote } from "./parse-git-remote.ts";
import { RelayError } from "./relay-error.ts";
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
 * clone; never mounted) and writes the files of the base commit into
 * `<baseDir>/workspace` (mounted at /workspace) without the host clone's `.git`, so
 * nothing the agent can read holds a credential or the host's git config.
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
  try {
    logger.info({ remoteKind: remote.kind }, "cloning the repository into the host clone");
    // --no-local: a local source is read through the pack protocol, not by copying or
    // hard-linking its .git (whose symlinks a crafted repository could aim elsewhere).
    const cloneEnv = remote.kind === "path" ? await trustLocalRepository(git, remote.location) : undefined;
    await git.run(["clone", "--no-checkout", "--no-local", "--quiet", "--", remote.location, hostClone], {
      auth,
      env: cloneEnv,
    });
    const gitDir = join(hostClone, ".git");
    await writeFile(join(gitDir, "info", "attributes"), neutralAttributes);
    const defaultBranch = await readDefaultBranch(git, gitDir);
    const baseCommit = await resolveBase(git, gitDir, input.ref);
    await git.run(["update-ref", "--no-deref", "HEAD", baseCommit], { gitDir });
    await (input.createWorkspace ?? ((dir: string) => mkdir(dir, { mode: 0o755 }).then(() => undefined)))(
      workspace,
    );
    await exportCommitFiles(git, gitDir, baseCommit, workspace);
    if (input.initWorkspaceGit ?? true) await initWorkspaceGit(git, workspace, baseCommit);
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

function authFor(remote: GitRemote, credentials: GitCredentials | undefined): GitAuth | undefined {
  if (credentials === undefined || remote.httpOrigin === undefined) return undefined;
  return { credentials, httpOrigin: remote.httpOrigin };
}

async function readDefaultBranch(git: GitRunner, gitDir: string): Promise<string> {
  const head = await git.run(["symbolic-ref", "--quiet", "--short", "HEAD"], { gitDir, okExitCodes: [1] });
  return head.stdout.toString().trim();
}

async function resolveBase(git: GitRunner, gitDir: string, ref: string | undefined): Promise<string> {
  if (ref !== undefined && (ref.startsWith("-") || /[\0-\x20~^:?*[\\]/.test(ref))) {
    throw new RelayError(`The ref "${ref}" is not a branch, tag or commit name.`);
  }
  const candidates = ref === undefined ? ["HEAD"] : [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`, ref];
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

/**
 * A throwaway repository for the agent's own `git diff`/`git status`. Created before
 * the agent starts, so its content is ours; afterwards it is the agent's, and the relay
 * never reads it.
 */
async function initWorkspaceGit(git: GitRunner, workspace: string, baseCommit: string): Promise<void> {
  const gitDir = join(workspace, ".git");
  const options = { gitDir, cwd: workspace, env: { GIT_WORK_TREE: workspace } };
  await git.run(["init", "--quiet"], options);
  await writeFile(join(gitDir, "info", "exclude"), ".airlock/\n");
  await git.run(["add", "--all"], options);
  await git.run(["commit", "--quiet", "--no-verify", "--allow-empty", "-m", `Base ${baseCommit}`], {
    ...options,
    env: {
      ...options.env,
      GIT_AUTHOR_NAME: airlockIdentity.name,
      GIT_AUTHOR_EMAIL: airlockIdentity.email,
      GIT_COMMITTER_NAME: airlockIdentity.name,
      GIT_COMMITTER_EMAIL: airlockIdentity.email,
    },
  });
}
