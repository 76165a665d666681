import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { ImageBuildError } from "./image-build-error.ts";

/** A file of an image's build context; a missing one means a broken checkout. */
export async function readContextFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new ImageBuildError(`cannot read ${path}; is this an Airlock checkout?`, { cause: error });
  }
}

/**
 * A JSON pin file (package versions and checksums) checked against its schema; every
 * problem is named with its path. `whenMissing` is the text used if the file is absent.
 */
export async function readPinFile<T>(path: string, schema: z.ZodType<T>, whenMissing?: string): Promise<T> {
  const text =
    whenMissing === undefined
      ? await readContextFile(path)
      : await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return whenMissing;
          throw new ImageBuildError(`cannot read ${path}`, { cause: error });
        });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ImageBuildError(`${path} is not valid JSON`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "(root)"} ${i.message}`)
      .join("; ");
    throw new ImageBuildError(`${path} is invalid: ${problems}`);
  }
  return parsed.data;
}
