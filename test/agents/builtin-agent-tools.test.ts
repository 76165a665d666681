import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { editFile } from "../../agent-images/builtin/agent/edit-file.ts";
import { executeToolCall, type ToolContext } from "../../agent-images/builtin/agent/execute-tool-call.ts";
import { listFiles } from "../../agent-images/builtin/agent/list-files.ts";
import { readFile as readTool } from "../../agent-images/builtin/agent/read-file.ts";
import { requestCapability } from "../../agent-images/builtin/agent/request-capability.ts";
import { resolveWorkspacePath } from "../../agent-images/builtin/agent/resolve-workspace-path.ts";
import {
  createCappedText,
  defaultRunCommandLimits,
  runCommand,
} from "../../agent-images/builtin/agent/run-command.ts";
import { ToolError } from "../../agent-images/builtin/agent/tool-error.ts";
import { writeFile as writeTool } from "../../agent-images/builtin/agent/write-file.ts";

describe("builtin agent tools", () => {
  let root: string;
  let outside: string;

  before(async () => {
    const base = await mkdtemp(join(tmpdir(), "airlock-agent-tools-"));
    root = join(base, "workspace");
    outside = join(base, "outside");
    await mkdir(join(root, "src"), { recursive: true });
    await mkdir(join(root, ".git", "hooks"), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, "secret.txt"), "host secret\n");
    await writeFile(join(root, "src", "a.ts"), "const a = 1;\nconst b = 2;\nconst a2 = 1;\n");
    await symlink(outside, join(root, "escape"));
    await symlink(join(outside, "new-file.txt"), join(root, "dangling"));
    await symlink("src/a.ts", join(root, "inside-link"));
  });

  after(async () => {
    await rm(join(root, ".."), { recursive: true, force: true });
  });

  describe("path confinement", () => {
    it("accepts relative and absolute paths inside the workspace", () => {
      assert.equal(resolveWorkspacePath(root, "src/a.ts").relative, "src/a.ts");
      assert.equal(resolveWorkspacePath(root, join(root, "src", "a.ts")).relative, "src/a.ts");
      assert.equal(resolveWorkspacePath(root, "./src/../src/new/deep.ts").relative, "src/new/deep.ts");
      assert.equal(resolveWorkspacePath(root, ".").relative, ".");
      assert.equal(resolveWorkspacePath(root, "inside-link").relative, "src/a.ts");
    });

    for (const [path, why] of [
      ["../outside/secret.txt", /outside the workspace/],
      ["src/../../outside/secret.txt", /outside the workspace/],
      ["/etc/passwd", /outside the workspace/],
      ["escape/secret.txt", /symbolic link/],
      ["escape", /symbolic link/],
      ["dangling", /symbolic link to a missing target/],
      ["", /non-empty/],
    ] as const) {
      it(`refuses ${JSON.stringify(path)}`, () => {
        assert.throws(
          () => resolveWorkspacePath(root, path),
          (error: unknown) => error instanceof ToolError && why.test(error.message),
        );
      });
    }

    it("refuses writes into .git/ and says why, but lets the agent read there", async () => {
      for (const path of [".git/hooks/pre-commit", ".git/config", ".git", "./src/../.git/x"]) {
        assert.throws(
          () => resolveWorkspacePath(root, path, { forWrite: true }),
          (error: unknown) =>
            error instanceof ToolError &&
            /inside \.git\/.*git relay commits your file changes/.test(error.message),
          path,
        );
      }
      assert.equal(resolveWorkspacePath(root, ".git/config").relative, ".git/config");
      assert.equal(resolveWorkspacePath(root, ".github/x", { forWrite: true }).relative, ".github/x");
    });

    it("write_file through an escaping or dangling link leaves the outside untouched", async () => {
      const ctx = toolContext(root);
      const viaDir = await executeToolCall(
        ctx,
        "write_file",
        JSON.stringify({ path: "escape/evil.txt", content: "x" }),
      );
      const viaDangling = await executeToolCall(
        ctx,
        "write_file",
        JSON.stringify({ path: "dangling", content: "x" }),
      );
      const viaGit = await executeToolCall(
        ctx,
        "write_file",
        JSON.stringify({ path: ".git/hooks/post-checkout", content: "#!/bin/sh\n" }),
      );
      for (const r of [viaDir, viaDangling, viaGit]) {
        assert.equal(r.kind, "result");
        assert.ok(r.kind === "result" && !r.ok && r.text.startsWith("error: "), JSON.stringify(r));
      }
      await assert.rejects(readFile(join(outside, "evil.txt")), { code: "ENOENT" });
      await assert.rejects(readFile(join(outside, "new-file.txt")), { code: "ENOENT" });
      await assert.rejects(readFile(join(root, ".git", "hooks", "post-checkout")), { code: "ENOENT" });
    });
  });

  describe("edit_file", () => {
    it("replaces exactly one occurrence and keeps $ patterns literal", async () => {
      await writeFile(join(root, "e1.txt"), "alpha\nbeta\ngamma\n");
      const result = await editFile(root, { path: "e1.txt", old: "beta", new: "$& and $1" });
      assert.match(result, /edited e1\.txt at line 2/);
      assert.equal(await readFile(join(root, "e1.txt"), "utf8"), "alpha\n$& and $1\ngamma\n");
    });

    it("refuses an ambiguous match with the count, and changes nothing", async () => {
      const before = await readFile(join(root, "src", "a.ts"), "utf8");
      await assert.rejects(
        editFile(root, { path: "src/a.ts", old: "= 1;", new: "= 3;" }),
        (error: unknown) =>
          error instanceof ToolError && /occurs 2 times in src\/a\.ts; include more/.test(error.message),
      );
      assert.equal(await readFile(join(root, "src", "a.ts"), "utf8"), before);
    });

    it("says how to recover when the text is missing, the file is missing or old is empty", async () => {
      await assert.rejects(
        editFile(root, { path: "src/a.ts", old: "const z", new: "" }),
        /not found in src\/a\.ts; read_file it again/,
      );
      await assert.rejects(
        editFile(root, { path: "nope.ts", old: "x", new: "y" }),
        /does not exist; use write_file/,
      );
      await assert.rejects(editFile(root, { path: "src/a.ts", old: "", new: "y" }), /non-empty/);
    });
  });

  describe("read, write, list", () => {
    it("write_file creates parents and reports create vs replace", async () => {
      assert.match(
        await writeTool(root, { path: "new/dir/f.txt", content: "one\ntwo\nthree\n" }),
        /^created new\/dir\/f\.txt \(14 bytes\)$/,
      );
      assert.match(await writeTool(root, { path: "new/dir/f.txt", content: "1\n2\n3\n4\n" }), /^replaced/);
      assert.equal(await readFile(join(root, "new", "dir", "f.txt"), "utf8"), "1\n2\n3\n4\n");
    });

    it("read_file pages by lines", async () => {
      assert.equal(await readTool(root, { path: "new/dir/f.txt" }), "new/dir/f.txt (4 lines)\n1\n2\n3\n4");
      assert.equal(
        await readTool(root, { path: "new/dir/f.txt", offset: 2, limit: 2 }),
        "new/dir/f.txt lines 2-3 of 4; read on with offset 4\n2\n3",
      );
      await assert.rejects(readTool(root, { path: "new/dir/f.txt", offset: 9 }), /has 4 lines; offset 9/);
      await assert.rejects(readTool(root, { path: "escape/secret.txt" }), /symbolic link/);
    });

    it("list_files lists to the asked depth and does not enter .git", async () => {
      const listing = (await listFiles(root, { depth: 2 })).split("\n");
      assert.ok(listing.includes(".git/"));
      assert.ok(!listing.some((l) => l.startsWith(".git/hooks")));
      assert.ok(listing.includes("src/a.ts"));
      assert.ok(listing.includes("new/dir/"));
      assert.ok(!listing.includes("new/dir/f.txt"));
      assert.ok(listing.includes("escape (symlink)"));
      assert.equal(await listFiles(root, { path: "new", depth: 3 }), "new/dir/\nnew/dir/f.txt");
    });
  });

  describe("run_command", () => {
    it("runs a shell string in the workspace and reports the exit code", async () => {
      const out = await runCommand(root, { command: "pwd; echo err >&2; exit 3" });
      assert.match(out, /^exit code 3, /);
      assert.match(out, new RegExp(`--- stdout ---\\n${root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`));
      assert.match(out, /--- stderr ---\nerr$/);
    });

    it("runs an argv without a shell", async () => {
      const out = await runCommand(root, { argv: ["echo", "$HOME;", "no shell"] });
      assert.match(out, /--- stdout ---\n\$HOME; no shell\n/);
      await assert.rejects(runCommand(root, { command: "ls", argv: ["ls"] }), /not both/);
      await assert.rejects(runCommand(root, {}), /give command, a shell string/);
    });

    it("caps output, keeping the head and the tail", async () => {
      const limits = { ...defaultRunCommandLimits, outputCapBytes: 1000 };
      const out = await runCommand(
        root,
        { command: "echo FIRST; head -c 100000 /dev/zero | tr '\\0' x; echo; echo LAST" },
        limits,
      );
      assert.match(out, /--- stdout \(1000\d\d bytes, capped at 1000\) ---/);
      assert.match(out, /^FIRST$/m);
      assert.match(out, /LAST\n--- stderr/);
      assert.match(out, /\[\.\.\. 99\d\d\d bytes omitted \.\.\.\]/);
      const stdout = out.slice(out.indexOf("---\n") + 4, out.indexOf("\n--- stderr"));
      assert.ok(stdout.length < 1100, `kept ${stdout.length} chars`);
    });

    it("the capped buffer keeps exactly cap bytes across many chunks", () => {
      const capped = createCappedText(10);
      for (const piece of ["abc", "def", "ghi", "jkl", "mno"]) capped.push(Buffer.from(piece));
      assert.equal(capped.text(), "abcde\n[... 5 bytes omitted ...]\nklmno");
      assert.equal(capped.note(), " (15 bytes, capped at 10)");
    });

    it("kills the command's process group at the timeout", async () => {
      const started = Date.now();
      const out = await runCommand(root, { command: "sleep 30 & sleep 30", timeout_s: 0.5 });
      assert.match(out, /^timed out after 0\.5 s \(killed\)/);
      assert.ok(Date.now() - started < 20_000, "waited for the 30 s sleeps");
    });

    it("never hands the run token to the command", async () => {
      const out = await runCommand(root, { command: "env" }, defaultRunCommandLimits, {
        PATH: process.env.PATH,
        OPENAI_API_KEY: "run-token-canary",
        ANTHROPIC_API_KEY: "run-token-canary",
        OPENAI_BASE_URL: "http://127.0.0.1:4000/v1",
      });
      assert.doesNotMatch(out, /run-token-canary/);
      assert.match(out, /OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:4000\/v1/);
    });

    it("refuses a cwd outside the workspace and a missing program", async () => {
      await assert.rejects(runCommand(root, { command: "ls", cwd: "../outside" }), /outside the workspace/);
      await assert.rejects(runCommand(root, { argv: ["no-such-program-xyz"] }), /command not found/);
    });
  });

  describe("request_capability", () => {
    let server: ReturnType<typeof createServer>;
    let url: string;
    const seen: { auth: string | undefined; body: unknown }[] = [];
    let status = 404;

    before(async () => {
      server = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          seen.push({ auth: req.headers.authorization, body: JSON.parse(Buffer.concat(chunks).toString()) });
          res.writeHead(status, { "content-type": "application/json" });
          res.end(
            JSON.stringify(
              status === 202 ? { status: "pending", id: "cap_1" } : { error: { message: "not found" } },
            ),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("posts the request with the run token and treats a 404 as pending", async () => {
      status = 404;
      const text = await requestCapability(url, "tok.0.1.sig", {
        kind: "apt",
        name: "jq",
        reason: "parse JSON in tests",
      });
      assert.match(text, /apt:jq is pending or unavailable \(host answered 404\).*carry on without it/);
      assert.deepEqual(seen.at(-1), {
        auth: "Bearer tok.0.1.sig",
        body: { kind: "apt", name: "jq", reason: "parse JSON in tests" },
      });
    });

    it("reports an accepted request and still tells the model to carry on", async () => {
      status = 202;
      const text = await requestCapability(url, "t", {
        kind: "npm",
        name: "left-pad",
        version: "1.3.0",
        reason: "r",
      });
      assert.match(text, /npm:left-pad@1\.3\.0 recorded by the host: .*"pending".*carry on without it/);
    });

    it("says unavailable when nothing listens, and validates its arguments", async () => {
      const text = await requestCapability("http://127.0.0.1:9", "t", {
        kind: "pip",
        name: "requests",
        reason: "r",
      });
      assert.match(text, /could not be sent.*unavailable for now/);
      await assert.rejects(
        requestCapability(url, "t", { kind: "docker", name: "x", reason: "r" }),
        /kind must be one of/,
      );
      await assert.rejects(
        requestCapability(url, "t", { kind: "apt", name: "jq; rm -rf /", reason: "r" }),
        /name must be/,
      );
      await assert.rejects(
        requestCapability(url, "t", { kind: "apt", name: "jq", reason: " " }),
        /reason must/,
      );
    });
  });

  describe("executeToolCall", () => {
    it("turns bad JSON, unknown tools and bad arguments into tool results", async () => {
      const ctx = toolContext(root);
      assert.deepEqual(await executeToolCall(ctx, "read_file", "{not json"), {
        kind: "result",
        ok: false,
        text: "error: the arguments of read_file must be a JSON object",
      });
      const unknown = await executeToolCall(ctx, "delete_everything", "{}");
      assert.ok(
        unknown.kind === "result" && /no tool named delete_everything; use list_files/.test(unknown.text),
      );
      const badArgs = await executeToolCall(ctx, "read_file", JSON.stringify({ path: 42 }));
      assert.ok(badArgs.kind === "result" && badArgs.text === "error: path must be a string");
      assert.deepEqual(await executeToolCall(ctx, "finish", JSON.stringify({ summary: "done" })), {
        kind: "finish",
        summary: "done",
      });
      const emptyFinish = await executeToolCall(ctx, "finish", JSON.stringify({ summary: "" }));
      assert.ok(emptyFinish.kind === "result" && !emptyFinish.ok);
    });
  });
});

function toolContext(root: string): ToolContext {
  return {
    workspaceRoot: root,
    bridgeUrl: "http://127.0.0.1:9",
    apiKey: "t",
    runCommandLimits: defaultRunCommandLimits,
  };
}
