import { readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The entries bin/airlock.js can load from the bundle (cli/<name>.ts, built to <outDir>/<name>.js). */
export const cliBundleEntries = ["main", "sandbox-main"] as const;

/** Written last into the bundle folder; find-fresh-bundle.js trusts the bundle only while it holds. */
export const cliBundleManifestName = "manifest.json";

/**
 * Modules dockerode and docker-modem load at require time but Airlock reaches only with an
 * ssh:// or TLS DOCKER_HOST or a BuildKit build (see runner/container/defer-dockerode-extras.ts,
 * which does the same for the unbundled sources). In the bundle each becomes a stand-in
 * that requires the real module on first use, so they are neither loaded nor bundled (the
 * last two use __dirname to find their .proto files, which a bundle would break).
 */
const deferred = [
  { specifier: "ssh2", shape: "ssh2" },
  { specifier: "@grpc/grpc-js", shape: "object" },
  { specifier: "@grpc/proto-loader", shape: "object" },
  { specifier: "./session", shape: "function" },
  { specifier: "./buildkit", shape: "object" },
  // Only for a TLS DOCKER_HOST; node:https brings TLS and crypto with it (~15 ms of start).
  { specifier: "https", shape: "object" },
] as const;

/**
 * Bundles the CLI's entries, with the packages they load, into `outDir` (ESM, split so what
 * a command imports on use stays a chunk loaded on use), and writes a manifest of every
 * input's size and mtime: a bundle whose sources changed since is not used (bin/airlock.js
 * then runs the sources). Loading one file instead of a few hundred is most of what the
 * bundle saves at start (issue 15).
 */
export async function bundleCli(outDir: string): Promise<{ bytes: number; inputs: number }> {
  // A file saved while esbuild ran may be in the bundle in its old content with its new
  // mtime in the manifest: such a bundle would pass for fresh, so it is refused.
  const startedAt = Date.now();
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: cliBundleEntries.map((name) => `cli/${name}.ts`),
    outdir: outDir,
    entryNames: "[name]",
    chunkNames: "chunk-[hash]",
    bundle: true,
    splitting: true,
    platform: "node",
    target: "node24",
    format: "esm",
    // Bundled CommonJS packages call require() for node's modules; ESM has none by itself.
    banner: {
      js: 'import { createRequire as __airlockRequire } from "node:module"; const require = __airlockRequire(import.meta.url);',
    },
    // Only the CLI's start-up path is bundled: packages it reaches on use stay in
    // node_modules, loaded as before (and not exposed to a bundler's changes of meaning).
    external: ["@electric-sql/pglite", "probot", "postgres", "drizzle-orm", "drizzle-orm/*", "undici"],
    plugins: [deferDockerodeExtras(outDir), keepPackagesLoadedOnUse(), keepSourceUrls(outDir)],
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });
  const { outputs } = result.metafile;
  const entries: Record<string, { inputs: [string, number, number][]; outputs: string[] }> = {};
  for (const name of cliBundleEntries) {
    const reached = reachedOutputs(outputs, relative(repoRoot, join(outDir, `${name}.js`)));
    const inputs = watchedInputs(reached.flatMap((out) => Object.keys(outputs[out]?.inputs ?? {})));
    entries[name] = {
      inputs: await Promise.all(
        inputs.map(async (path): Promise<[string, number, number]> => {
          const info = await stat(path);
          if (info.mtimeMs >= startedAt) {
            throw new Error(`${path} changed while the CLI was being bundled; bundle it again`);
          }
          return [relative(outDir, path), info.size, info.mtimeMs];
        }),
      ),
      outputs: reached.map((out) => relative(outDir, join(repoRoot, out))),
    };
  }
  const manifest = { entries };
  await writeFile(join(outDir, cliBundleManifestName), `${JSON.stringify(manifest)}\n`);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, out) => sum + out.bytes, 0);
  return { bytes, inputs: Object.keys(result.metafile.inputs).length };
}

/** The entry's output and every chunk it imports, at start or on use. */
function reachedOutputs(outputs: Metafile["outputs"], entry: string): string[] {
  const reached = new Set<string>();
  const visit = (path: string) => {
    if (reached.has(path) || outputs[path] === undefined) return;
    reached.add(path);
    for (const imported of outputs[path].imports) if (!imported.external) visit(imported.path);
  };
  visit(entry);
  return [...reached];
}

/**
 * What the freshness check stats at every start: each of Airlock's own files, and for the
 * packages only their package.json (an install rewrites it with the package, and checking
 * hundreds of package files would cost the start-up the bundle saves).
 */
function watchedInputs(inputs: string[]): string[] {
  const watched = new Set<string>();
  for (const input of inputs) {
    if (input.includes(":")) continue;
    const absolute = join(repoRoot, input);
    const at = absolute.lastIndexOf(`${sep}node_modules${sep}`);
    if (at < 0) {
      watched.add(absolute);
      continue;
    }
    const rest = absolute.slice(at + "/node_modules/".length).split(sep);
    const name = rest[0]?.startsWith("@") ? rest.slice(0, 2) : rest.slice(0, 1);
    watched.add(join(absolute.slice(0, at), "node_modules", ...name, "package.json"));
  }
  return [...watched].sort();
}

function deferDockerodeExtras(outDir: string): Plugin {
  const owners = /[\\/]node_modules[\\/](dockerode|docker-modem)[\\/]/;
  return {
    name: "defer-dockerode-extras",
    setup(b) {
      for (const { specifier, shape } of deferred) {
        const filter = new RegExp(`^${specifier.replace(/[./]/g, (c) => `\\${c}`)}$`);
        b.onResolve({ filter }, async (args) => {
          if (
            !owners.test(args.importer) ||
            (args.pluginData as { deferred?: boolean } | undefined)?.deferred
          ) {
            return undefined;
          }
          const real = await b.resolve(specifier, {
            kind: args.kind,
            resolveDir: args.resolveDir,
            pluginData: { deferred: true },
          });
          if (real.errors.length > 0) return { errors: real.errors };
          // The real file, relative to the bundle (or node's own module, by name): the
          // stand-in requires exactly what dockerode would have.
          const path = real.external ? real.path : relative(outDir, real.path);
          return { path, namespace: "deferred", pluginData: { shape, builtin: real.external } };
        });
      }
      b.onLoad({ filter: /.*/, namespace: "deferred" }, (args) => ({
        loader: "js",
        contents: standInSource(args.path, args.pluginData as { shape: string; builtin: boolean }),
      }));
    },
  };
}

function standInSource(
  pathFromBundle: string,
  { shape, builtin }: { shape: string; builtin: boolean },
): string {
  // `require` is the bundle's own (the banner's, anchored at the chunk, which sits in the
  // bundle's folder); through a variable, so esbuild leaves the call alone.
  const path = builtin || pathFromBundle.startsWith(".") ? pathFromBundle : `./${pathFromBundle}`;
  const load = `(real ??= require(path))`;
  const head = `const path = ${JSON.stringify(path)}; let real;`;
  if (shape === "ssh2") {
    // docker-modem reads `.Client` at load time and calls `new Client()` only for ssh://.
    return `${head} module.exports = { Client: function Client(...args) { return new ${load}.Client(...args); } };`;
  }
  if (shape === "function") {
    return `${head} module.exports = function (...args) { return ${load}.apply(this, args); };`;
  }
  return `${head} module.exports = new Proxy({}, { get(_t, key) { return ${load}[key]; }, has(_t, key) { return key in ${load}; } });`;
}

/**
 * A package Airlock imports on use (`await import("yaml")`) stays outside the bundle, loaded
 * by Node as before. Besides keeping the start small, this keeps Node's meaning: a bundled
 * CommonJS package imported dynamically gets only a default export from esbuild, where
 * Node also gives its named ones (`const { parse } = await import("yaml")` was undefined).
 */
function keepPackagesLoadedOnUse(): Plugin {
  return {
    name: "keep-packages-loaded-on-use",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined,
      );
    },
  };
}

/**
 * Airlock's own files find their data (the seccomp profile, the agent images, the
 * migrations) relative to `import.meta.url`. In the bundle that would be the bundle's
 * folder; each file's own URL is put back, so those paths are the repository's.
 */
function keepSourceUrls(outDir: string): Plugin {
  return {
    name: "keep-source-urls",
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${"/"}node_modules${"/"}`)) return undefined;
        const source = await readFile(args.path, "utf8");
        if (!source.includes("import.meta.url")) return { contents: source, loader: "ts" };
        const own = `new URL(${JSON.stringify(relative(outDir, args.path))}, import.meta.url).href`;
        return { contents: source.replaceAll("import.meta.url", own), loader: "ts" };
      });
    },
  };
}
