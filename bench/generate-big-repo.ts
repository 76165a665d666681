// Writes the big-repository benchmark's source once, deterministically, with
// `git fast-import`: 20,000 files in 200 folders and 2,000 commits, about 300 MB of
// packed history. Content is pseudo-random base64 text from AES-CTR over zeros (fixed
// key), so every machine builds the same repository and zlib cannot shrink it away.
import { spawn } from "node:child_process";
import { createCipheriv } from "node:crypto";
import { access, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";

export const bigRepoShape = { files: 20_000, commits: 2_000, fileBytes: 2_000, filesPerCommit: 90 };

/** The bare repository under `cacheDir`, generated on first use; returns its path. */
export async function generateBigRepo(cacheDir: string, shape = bigRepoShape): Promise<string> {
  const name = `big-${shape.files}f-${shape.commits}c-${shape.fileBytes}b-${shape.filesPerCommit}m-v1.git`;
  const done = join(cacheDir, name);
  if (
    await access(join(done, "airlock-bench-complete")).then(
      () => true,
      () => false,
    )
  )
    return done;
  const building = `${done}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  await runGit(["init", "--quiet", "--bare", building]);
  const importer = spawn(
    "git",
    ["-c", "gc.auto=0", "fast-import", "--quiet", "--done", "--big-file-threshold=1m"],
    { env: gitEnv(building), stdio: ["pipe", "inherit", "inherit"] },
  );
  const random = createCipheriv("aes-128-ctr", Buffer.alloc(16), Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.ceil((shape.fileBytes * 3) / 4) + 3);
  const text = (label: string): Buffer => {
    const body = random
      .update(zeros)
      .toString("base64")
      .slice(0, shape.fileBytes - label.length - 1);
    return Buffer.from(`${label}\n${body.replace(/(.{76})/g, "$1\n")}`);
  };
  const write = async (chunk: Buffer | string): Promise<void> => {
    if (!importer.stdin.write(chunk)) await once(importer.stdin, "drain");
  };
  const path = (i: number) => `src/d${i % 200}/f${i}.txt`;
  for (let c = 0; c < shape.commits; c += 1) {
    const when = 1_700_000_000 + c * 60;
    const message = `commit ${c}\n`;
    await write(
      `commit refs/heads/main\ncommitter Bench <bench@example.com> ${when} +0000\ndata ${message.length}\n${message}`,
    );
    const touched =
      c === 0
        ? Array.from({ length: shape.files }, (_, i) => i)
        : Array.from({ length: shape.filesPerCommit }, (_, k) => (c * 7919 + k * 104_729) % shape.files);
    for (const i of touched) {
      const content = text(`${path(i)} @ ${c}`);
      await write(`M 100644 inline ${path(i)}\ndata ${content.length}\n`);
      await write(content);
      await write("\n");
    }
    await write("\n");
  }
  await write("done\n");
  importer.stdin.end();
  const [code] = (await once(importer, "close")) as [number | null];
  if (code !== 0) throw new Error(`git fast-import exited ${code}`);
  await runGit(["--git-dir", building, "symbolic-ref", "HEAD", "refs/heads/main"]);
  await writeFile(join(building, "airlock-bench-complete"), "");
  await rename(building, done);
  return done;
}

function gitEnv(gitDir?: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    ...(gitDir === undefined ? {} : { GIT_DIR: gitDir }),
  };
}

async function runGit(args: string[]): Promise<void> {
  const child = spawn("git", ["-c", "gc.auto=0", ...args], { env: gitEnv(), stdio: "inherit" });
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`git ${args.join(" ")} exited ${code}`);
}
