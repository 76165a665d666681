import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { chownTree } from "../../runner/relay/chown-tree.ts";

const asRoot = process.getuid?.() === 0;

test(
  "chownTree gives the whole tree to the user and never follows a link out of it",
  { skip: !asRoot && "needs root" },
  async () => {
    const base = await mkdtemp(join(tmpdir(), "airlock-chown-"));
    try {
      const tree = join(base, "tree");
      const outside = join(base, "outside");
      await mkdir(join(tree, "a", "b"), { recursive: true });
      await mkdir(outside);
      await writeFile(join(tree, "a", "b", "file.txt"), "x");
      await writeFile(join(outside, "secret"), "y");
      await symlink(outside, join(tree, "link-to-dir"));
      await symlink(join(outside, "secret"), join(tree, "a", "link-to-file"));

      await chownTree(tree, 1001, 1002);

      for (const path of [tree, join(tree, "a"), join(tree, "a", "b"), join(tree, "a", "b", "file.txt")]) {
        const s = await stat(path);
        assert.deepEqual([s.uid, s.gid], [1001, 1002], path);
      }
      const link = await lstat(join(tree, "link-to-dir"));
      assert.deepEqual([link.uid, link.gid], [1001, 1002], "the link itself changes owner");
      for (const path of [outside, join(outside, "secret")]) {
        const s = await stat(path);
        assert.deepEqual([s.uid, s.gid], [0, 0], `${path} is outside the tree and stays root's`);
      }
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  },
);

test("chownTree refuses ids that are not whole non-negative numbers", async () => {
  await assert.rejects(chownTree("/nonexistent", -1, 0), RangeError);
  await assert.rejects(chownTree("/nonexistent", 1.5, 0), RangeError);
});
