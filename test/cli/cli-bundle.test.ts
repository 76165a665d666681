import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { bundleCli, cliBundleEntries, cliBundleManifestName } from "../../cli/bundle/bundle-cli.ts";
import { findFreshBundle } from "../../cli/bundle/find-fresh-bundle.js";
import { pickSandboxTestImage } from "../sandbox/sandbox-test-image.ts";

const run = promisify(execFile);

interface Manifest {
  entries: Record<string, { inputs: [string, number, number][]; outputs: string[] }>;
}

describe("the CLI bundle bin/airlock.js starts from", () => {
  let dir: string;
  let bundleDir: URL;
  let manifest: Manifest;

  before(async () => {
    // Inside the repository, as .build/cli is: the packages the bundle leaves out are found
    // from there.
    const buildDir = fileURLToPath(new URL("../../.build/", import.meta.url));
    await mkdir(buildDir, { recursive: true });
    dir = await mkdtemp(join(buildDir, "cli-bundle-test-"));
    await bundleCli(dir);
    bundleDir = pathToFileURL(`${dir}/`);
    manifest = JSON.parse(await readFile(join(dir, cliBundleManifestName), "utf8")) as Manifest;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function withManifest(change: (m: Manifest) => void): Promise<void> {
    const copy = structuredClone(manifest);
    change(copy);
    await writeFile(join(dir, cliBundleManifestName), JSON.stringify(copy));
  }

  it("is used while every source it came from is unchanged", async () => {
    await withManifest(() => undefined);
    for (const entry of cliBundleEntries) {
      assert.equal(findFreshBundle(bundleDir, entry)?.href, new URL(`${entry}.js`, bundleDir).href);
    }
    const sandbox = manifest.entries["sandbox-main"]!;
    const watched = sandbox.inputs.map(([path]) => path);
    // Airlock's own files one by one, packages by their package.json.
    assert.ok(watched.some((path) => path.endsWith("runner/sandbox/run-sandboxed.ts")));
    assert.ok(watched.some((path) => path.endsWith("node_modules/zod/package.json")));
    assert.ok(!watched.some((path) => path.includes("node_modules/zod/v4")));
  });

  it("is not used once a source changed, went away, or an output is missing", async () => {
    const sandbox = (m: Manifest) => m.entries["sandbox-main"]!;
    const cases: [string, (m: Manifest) => void][] = [
      ["a size", (m) => (sandbox(m).inputs[0]![1] += 1)],
      ["an mtime", (m) => (sandbox(m).inputs[sandbox(m).inputs.length - 1]![2] -= 1000)],
      ["a removed file", (m) => (sandbox(m).inputs[0]![0] = "../no-such-file.ts")],
      ["a missing chunk", (m) => sandbox(m).outputs.push("chunk-MISSING.js")],
      ["no record of the entry", (m) => delete m.entries["sandbox-main"]],
    ];
    for (const [what, change] of cases) {
      await withManifest(change);
      assert.equal(findFreshBundle(bundleDir, "sandbox-main"), undefined, what);
      // The other entry's files did not change.
      assert.ok(findFreshBundle(bundleDir, "main"), what);
    }
    await writeFile(join(dir, cliBundleManifestName), "{ not json");
    assert.equal(findFreshBundle(bundleDir, "main"), undefined);
    await withManifest(() => undefined);
  });

  it("runs `sandbox exec` from the bundle, without loading dockerode's SSH, gRPC or TLS parts", async () => {
    const { image, init } = pickSandboxTestImage();
    const entry = new URL("sandbox-main.js", bundleDir).href;
    // A fresh process: the module cache must start empty for the check to mean anything.
    const probe = `
      const { createRequire } = await import("node:module");
      const { PassThrough } = await import("node:stream");
      const { main } = await import(${JSON.stringify(entry)});
      let out = "";
      const stdout = new PassThrough().on("data", (c) => (out += c));
      const argv = ["sandbox", "exec", "--image", ${JSON.stringify(image)}, ${init ? '"--init", ' : ""}"--", "sh", "-c", "echo out; exit 7"];
      const code = await main(argv, { PATH: process.env.PATH, AIRLOCK_LOG_LEVEL: "silent" }, stdout, process.stderr);
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules[\\\\/](ssh2|@grpc|protobufjs)[\\\\/]/.test(k));
      if (process.moduleLoadList.includes("NativeModule https")) loaded.push("node:https");
      console.log(JSON.stringify({ code, out, loaded }));
      process.exitCode = 0;
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], { cwd: dir });
    assert.deepEqual(JSON.parse(stdout), { code: 7, out: "out\n", loaded: [] });
    // No TypeScript source was needed: the bundle holds the code, and its data files
    // (the seccomp profile the run above needed) are found in the repository.
    assert.ok((await readdir(dir)).every((file) => !file.endsWith(".ts")));
  });

  it("answers --version and --help from the bundled main entry", async () => {
    const entry = new URL("main.js", bundleDir).href;
    const probe = `
      const { main } = await import(${JSON.stringify(entry)});
      process.exitCode = await main(JSON.parse(process.env.ARGV), { PATH: process.env.PATH });
    `;
    const airlock = (argv: string[]) =>
      run(process.execPath, ["--input-type=module", "-e", probe], {
        env: { PATH: process.env.PATH, ARGV: JSON.stringify(argv) },
      });
    const version = await airlock(["--version"]);
    assert.equal(version.stdout, "0.1.0\n");
    const help = await airlock(["run", "--help"]);
    assert.match(help.stdout, /^Usage: airlock run \[options\]/);
  });

  it("keeps Node's meaning for a package imported on use (yaml's named exports)", async () => {
    // `airlock proxy` imports yaml on use and takes `parse` from it: bundled, a CommonJS
    // package imported that way had only a default export, and the proxy never started.
    const config = join(dir, "proxy.yml");
    await writeFile(config, "routing: 5\n");
    const probe = `
      const { main } = await import(${JSON.stringify(new URL("main.js", bundleDir).href)});
      const env = { PATH: process.env.PATH, AIRLOCK_DATA_DIR: ${JSON.stringify(dir)}, AIRLOCK_PROXY_CONFIG: ${JSON.stringify(config)},
        OPENAI_API_KEY: "sk-test-0123456789abcdef", AIRLOCK_TOKEN_SECRET: "cli-bundle-test-secret-0123456789abcdef" };
      const code = await main(["proxy", "--port", "0"], env);
      process.exitCode = code === 2 ? 0 : 1;
    `;
    const { stderr } = await run(process.execPath, ["--input-type=module", "-e", probe]);
    assert.match(stderr, /not a valid proxy configuration:\n {2}- routing: Invalid input: expected array/);
  });
});
