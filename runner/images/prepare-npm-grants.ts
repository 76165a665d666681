import { execFile } from "node:child_process";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import type { ImageGrant } from "./image-grant.ts";
import { ImageBuildError } from "./image-build-error.ts";

const execFileAsync = promisify(execFile);

/** One package of the npm tree copied into a granted image. */
export interface NpmTreeEntry {
  name: string;
  version: string;
  integrity: string;
  license?: string | undefined;
  /** It declares install scripts, which were NOT run (see prepareNpmGrants). */
  hasInstallScript: boolean;
}

export interface PreparedNpmGrants {
  /** The grants with their exact, resolved version. */
  grants: ImageGrant[];
  /** Every package installed (the granted ones and their dependencies). */
  tree: NpmTreeEntry[];
}

const viewSchema = z.object({
  version: z.string().regex(/^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/),
  "dist.integrity": z.string().regex(/^sha512-[A-Za-z0-9+/]+=*$/),
});
const lockSchema = z.object({
  packages: z.record(
    z.string(),
    z.object({
      version: z.string().optional(),
      integrity: z.string().optional(),
      link: z.boolean().optional(),
    }),
  ),
});

/**
 * Fetches the npm grants and their dependencies on the host into `<folder>/node_modules`,
 * which the image build copies as is: the image needs neither npm (the base image has
 * only `node`) nor network, and no package code runs during the build.
 *
 * 1. Each grant is resolved with `npm view` to an exact version and the registry's
 *    `dist.integrity` (an unpinned grant takes the current release).
 * 2. `npm install --ignore-scripts` installs them into a folder with a fixed package.json
 *    (npm checks every tarball against the registry's integrity as it installs). Install
 *    scripts are never run, on the host or in the image: a package that needs one (a
 *    native addon) does not work, and the SBOM says which packages declared one.
 * 3. The lockfile's integrity of each granted package must equal what `npm view` said.
 */
export async function prepareNpmGrants(options: {
  grants: readonly ImageGrant[];
  folder: string;
  npmCommand?: string | undefined;
  onProgress?: ((line: string) => void) | undefined;
}): Promise<PreparedNpmGrants> {
  const npm = options.npmCommand ?? "npm";
  const progress = options.onProgress ?? (() => {});
  const resolved: { grant: ImageGrant; integrity: string }[] = [];
  for (const grant of options.grants) {
    const spec = grant.version === undefined ? grant.name : `${grant.name}@${grant.version}`;
    const out = await runNpm(npm, ["view", spec, "version", "dist.integrity", "--json"], `npm view ${spec}`);
    let parsed;
    try {
      parsed = viewSchema.parse(JSON.parse(out));
    } catch (error) {
      throw new ImageBuildError(
        `npm view ${spec} did not name one exact version with an integrity; is ${spec} a published release?`,
        { cause: error },
      );
    }
    resolved.push({
      grant: { kind: "npm", name: grant.name, version: parsed.version },
      integrity: parsed["dist.integrity"],
    });
  }

  await mkdir(options.folder, { recursive: true });
  // A fixed name: npm writes the folder's name into the lockfile, which the image copies,
  // so a random folder name would defeat the layer cache.
  await writeFile(
    join(options.folder, "package.json"),
    `${JSON.stringify({ name: "airlock-npm-grants", private: true }, null, 2)}\n`,
  );
  const specs = resolved.map((r) => `${r.grant.name}@${r.grant.version}`);
  progress(`npm: installing ${specs.join(", ")} on the host (install scripts are not run)`);
  await runNpm(
    npm,
    [
      "install",
      "--prefix",
      options.folder,
      "--ignore-scripts",
      "--omit=dev",
      "--save-exact",
      "--no-audit",
      "--no-fund",
      "--no-update-notifier",
      ...specs,
    ],
    `npm install ${specs.join(" ")}`,
  );

  let lock;
  const lockPath = join(options.folder, "node_modules", ".package-lock.json");
  try {
    lock = lockSchema.parse(JSON.parse(await readFile(lockPath, "utf8")));
  } catch (error) {
    throw new ImageBuildError(`npm install left no readable ${lockPath}`, { cause: error });
  }
  const tree: NpmTreeEntry[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.startsWith("node_modules/")) continue;
    if (entry.link || !entry.version || !entry.integrity) {
      throw new ImageBuildError(
        `npm installed ${path} without a registry version and integrity; only registry packages can be granted`,
      );
    }
    // Licence and scripts from the package's own package.json: the lockfile's copy of them
    // depends on which form of the registry's metadata npm had cached.
    const manifest = await readInstalledManifest(join(options.folder, path));
    if (manifest.version !== entry.version) {
      throw new ImageBuildError(
        `${path} holds ${manifest.version ?? "no version"}, npm recorded ${entry.version}`,
      );
    }
    tree.push({
      name: path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length),
      version: entry.version,
      integrity: entry.integrity,
      license: typeof manifest.license === "string" ? manifest.license : undefined,
      hasInstallScript:
        ["preinstall", "install", "postinstall"].some((name) => manifest.scripts?.[name] !== undefined) ||
        (await exists(join(options.folder, path, "binding.gyp"))),
    });
  }
  for (const { grant, integrity } of resolved) {
    const installed = lock.packages[`node_modules/${grant.name}`];
    if (installed?.version !== grant.version || installed?.integrity !== integrity) {
      throw new ImageBuildError(
        `npm installed ${grant.name}@${installed?.version ?? "nothing"} with integrity ${installed?.integrity ?? "none"}, ` +
          `but the registry names ${grant.version} with ${integrity}; refusing to build with it`,
      );
    }
  }
  tree.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // npm's lockfiles are not needed to run the packages, and their content varies with npm's
  // cache: copied into the image they would defeat the layer cache. The tree above is the record.
  await rm(lockPath, { force: true });
  await rm(join(options.folder, "package-lock.json"), { force: true });
  return { grants: resolved.map((r) => r.grant), tree };
}

const manifestSchema = z.looseObject({
  version: z.string().optional(),
  license: z.unknown().optional(),
  scripts: z.record(z.string(), z.unknown()).optional(),
});

async function readInstalledManifest(folder: string): Promise<z.infer<typeof manifestSchema>> {
  const path = join(folder, "package.json");
  try {
    return manifestSchema.parse(JSON.parse(await readFile(path, "utf8")));
  } catch (error) {
    throw new ImageBuildError(`npm installed ${folder} without a readable package.json`, { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function runNpm(npm: string, args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(npm, args, { timeout: 5 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "").trim();
    const code = /npm error code (\S+)/.exec(stderr)?.[1];
    throw new ImageBuildError(
      `${what} failed${code ? ` (${code})` : ""}. ${code === "E404" ? "No such package or version. " : ""}` +
        "Check the name and version, and that the host's npm can reach its registry.",
      { cause: error },
    );
  }
}
