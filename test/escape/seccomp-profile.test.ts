// The seccomp profile (runner/sandbox/seccomp-profile.json, explained in SECCOMP.md): the
// denials the escape suite relies on are pinned here, and the everyday tools an agent needs
// (node, git, sh, npm when the image has it) must keep working under it.
import assert from "node:assert/strict";
import { cp, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { defaultSeccompProfilePath } from "../../runner/sandbox/load-seccomp-profile.ts";
import { escapeCase } from "./helpers/escape-case.ts";
import { createEscapeHarness, type EscapeHarness } from "./helpers/escape-harness.ts";

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; op: string }[];
}

/** Calls that no rule may allow outright (DESIGN §4 and issue 2). */
const neverAllowed = [
  "mount",
  "umount",
  "umount2",
  "mount_setattr",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "unshare",
  "setns",
  "clone3",
  "keyctl",
  "add_key",
  "request_key",
  "bpf",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "perf_event_open",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "reboot",
  "swapon",
  "swapoff",
  "pivot_root",
  "chroot",
  "acct",
  "settimeofday",
  "clock_settime",
  "clock_settime64",
  "adjtimex",
  "clock_adjtime",
  "iopl",
  "ioperm",
  "userfaultfd",
  "open_by_handle_at",
  "name_to_handle_at",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "syslog",
  "lookup_dcookie",
  "quotactl",
  "vm86",
  "vm86old",
  "uselib",
  "nfsservctl",
  "socketcall",
];

describe("seccomp profile", () => {
  test("is an allow-list for x86_64 and aarch64 (with compat arches) that never allows the dangerous calls", async () => {
    const profile = JSON.parse(await readFile(defaultSeccompProfilePath, "utf8")) as {
      defaultAction: string;
      defaultErrnoRet: number;
      archMap: { architecture: string; subArchitectures: string[] }[];
      syscalls: Rule[];
    };
    assert.equal(profile.defaultAction, "SCMP_ACT_ERRNO");
    assert.equal(profile.defaultErrnoRet, 1);
    assert.deepEqual(Object.fromEntries(profile.archMap.map((a) => [a.architecture, a.subArchitectures])), {
      SCMP_ARCH_X86_64: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      SCMP_ARCH_AARCH64: ["SCMP_ARCH_ARM"],
    });
    const allowed = profile.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW");
    const unconditional = new Set(allowed.filter((r) => !r.args?.length).flatMap((r) => r.names));
    assert.deepEqual(
      neverAllowed.filter((name) => unconditional.has(name)),
      [],
    );
    // clone: allowed only with every namespace flag masked to zero.
    const cloneRules = allowed.filter((r) => r.names.includes("clone"));
    assert.equal(cloneRules.length, 1);
    assert.deepEqual(cloneRules[0]!.args, [
      { index: 0, value: 0x7e020000, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" },
    ]);
    const clone3 = profile.syscalls.find((r) => r.names.includes("clone3"));
    assert.equal(clone3?.action, "SCMP_ACT_ERRNO");
    assert.equal(clone3?.errnoRet, 38);
    // personality: only the safe values (no ADDR_NO_RANDOMIZE, no READ_IMPLIES_EXEC).
    const personalities = allowed
      .filter((r) => r.names.includes("personality"))
      .map((r) => (r.args?.[0]?.op === "SCMP_CMP_EQ" ? r.args[0].value : NaN));
    assert.deepEqual(
      personalities.sort((a, b) => a - b),
      [0, 8, 131072, 131080, 4294967295],
    );
    for (const rule of allowed) {
      for (const arg of rule.args ?? [])
        assert.notEqual(arg.op, "SCMP_CMP_NE", `${rule.names.join(",")}: deny-list style rule`);
    }
  });
});

describe("seccomp profile: everyday tools still work", { concurrency: 2 }, () => {
  let harness: EscapeHarness;
  const h = () => harness;
  before(async () => {
    harness = await createEscapeHarness([]);
  });
  after(() => harness.close());

  escapeCase(h, "seccomp", "sh and coreutils under the profile", "work", async ({ sandbox, observe }) => {
    const { result, stdout, stderr } = await sandbox.run([
      "sh",
      "-c",
      "set -e; cd /tmp; mkdir d; echo hi > d/f; cp d/f d/g; sort d/g | sha256sum >/dev/null; ls d | wc -l; (sleep 0.1 &) ; wait; echo done",
    ]);
    observe(`exit ${String(result.exitCode)}`);
    assert.equal(result.exitCode, 0, stderr);
    assert.match(stdout, /^2\ndone\n$/);
  });

  escapeCase(
    h,
    "seccomp",
    "git init, add, commit, log under the profile",
    "work",
    async ({ sandbox, observe }) => {
      const { result, stdout, stderr } = await sandbox.run([
        "sh",
        "-c",
        "command -v git >/dev/null || { echo no-git; exit 0; }; set -e; cd /tmp; git init -q r; cd r; echo x > f; git add f; git -c user.email=a@b.c -c user.name=a commit -q -m one; git log --oneline | wc -l",
      ]);
      observe(
        stdout.trim() === "no-git" ? "image has no git (not checked)" : `exit ${String(result.exitCode)}`,
      );
      assert.equal(result.exitCode, 0, stderr);
      if (h().image.startsWith("airlock/base"))
        assert.equal(stdout.trim(), "1", "the base image must have git");
      else assert.match(stdout.trim(), /^(1|no-git)$/);
    },
  );

  escapeCase(
    h,
    "seccomp",
    "node: worker thread, child process, fs, crypto, loopback HTTP, os.networkInterfaces under the profile",
    "work",
    async ({ sandbox, observe }) => {
      const script = [
        "const { Worker } = require('node:worker_threads');",
        "const http = require('node:http');",
        "new Worker('require(\"node:worker_threads\").parentPort.postMessage(1)', { eval: true }).once('message', async () => {",
        "  require('node:child_process').execFileSync('true');",
        "  await require('node:fs/promises').writeFile('/tmp/x', require('node:crypto').randomBytes(16));",
        "  Object.keys(require('node:os').networkInterfaces());",
        "  const server = http.createServer((q, r) => r.end('pong')).listen(0, '127.0.0.1', () => {",
        "    http.get({ host: '127.0.0.1', port: server.address().port }, (res) => {",
        "      res.on('data', (d) => { console.log(process.version, String(d)); server.close(); process.exit(0); });",
        "    });",
        "  });",
        "});",
      ].join("\n");
      const { result, stdout, stderr } = await sandbox.run([
        "sh",
        "-c",
        'command -v node >/dev/null || { echo no-node; exit 0; }; exec node -e "$0"',
        script,
      ]);
      observe(stdout.trim() === "no-node" ? "image has no node (not checked)" : stdout.trim());
      assert.equal(result.exitCode, 0, stderr);
      if (h().image.startsWith("airlock/base")) assert.match(stdout, /^v\d+\.\d+\.\d+ pong$/m);
    },
  );

  escapeCase(
    h,
    "seccomp",
    "npm --version, init, pkg set, test (a script) under the profile",
    "work",
    async ({ sandbox, observe }) => {
      // The base image ships node without npm; the host's npm (pure JS) is copied into the
      // workspace so the profile is still checked against it. Skipped only when neither has one.
      const hostNpm = "/usr/lib/node_modules/npm";
      const hasHostNpm = await stat(join(hostNpm, "bin/npm-cli.js")).then(
        () => true,
        () => false,
      );
      if (hasHostNpm) await cp(hostNpm, join(h().workspaceDir, "npm"), { recursive: true });
      const script = [
        'if command -v npm >/dev/null; then npm() { command npm "$@"; };',
        'elif [ -f /workspace/npm/bin/npm-cli.js ] && command -v node >/dev/null; then npm() { node /workspace/npm/bin/npm-cli.js "$@"; };',
        "else echo no-npm; exit 0; fi",
        "set -e; npm --version; cd /tmp; mkdir p; cd p; npm init -y >/dev/null; npm pkg set scripts.test='node -e \"console.log(6*7)\"'; npm test --silent",
      ].join("\n");
      const { result, stdout, stderr } = await sandbox.run(["sh", "-c", script]);
      observe(
        stdout.trim() === "no-npm"
          ? "no npm in the image or on the host (not checked)"
          : `npm ${stdout.trim().split("\n")[0] ?? ""}${hasHostNpm ? " (the host's, copied in)" : ""}`,
      );
      assert.equal(result.exitCode, 0, stderr);
      if (stdout.trim() !== "no-npm") assert.match(stdout, /^\d+\.\d+\.\d+\n42\n$/);
    },
  );
});
