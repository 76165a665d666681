// Escape suite, privilege (issue 2, DESIGN §4): non-root, no capabilities, no new
// privileges, our seccomp profile, read-only rootfs, noexec /tmp, no Docker socket.
import assert from "node:assert/strict";
import { chmod, chown, copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { escapeCase } from "./helpers/escape-case.ts";
import { createEscapeHarness, parseProbeLines, type EscapeHarness } from "./helpers/escape-harness.ts";

/** Every call the syscall probe tries, and the errno it must get. */
const deniedCalls: Record<string, string> = {
  mount: "EPERM",
  umount2: "EPERM",
  unshare_user: "EPERM",
  unshare_mount: "EPERM",
  unshare_net: "EPERM",
  clone_newuser: "EPERM",
  // ENOSYS on purpose: glibc then falls back to clone, whose flags the profile can filter.
  clone3: "ENOSYS",
  setns: "EPERM",
  keyctl: "EPERM",
  add_key: "EPERM",
  request_key: "EPERM",
  bpf: "EPERM",
  ptrace_traceme: "EPERM",
  ptrace_attach: "EPERM",
  process_vm_readv: "EPERM",
  process_vm_writev: "EPERM",
  perf_event_open: "EPERM",
  userfaultfd: "EPERM",
  io_uring_setup: "EPERM",
  personality_addr_no_randomize: "EPERM",
  chroot: "EPERM",
  pivot_root: "EPERM",
  open_by_handle_at: "EPERM",
  name_to_handle_at: "EPERM",
  init_module: "EPERM",
  finit_module: "EPERM",
  delete_module: "EPERM",
  kexec_load: "EPERM",
  reboot: "EPERM",
  swapon: "EPERM",
  acct: "EPERM",
  settimeofday: "EPERM",
  clock_settime: "EPERM",
  adjtimex: "EPERM",
  iopl: "EPERM",
  ioperm: "EPERM",
  syslog: "EPERM",
  lookup_dcookie: "EPERM",
  quotactl: "EPERM",
  modify_ldt: "EPERM",
  socket_vsock: "EPERM",
  socket_packet: "EPERM",
  sethostname: "EPERM",
};

describe("escape: privilege", { concurrency: 2 }, () => {
  let harness: EscapeHarness;
  const h = () => harness;

  before(async () => {
    harness = await createEscapeHarness(["syscall-probe", "whoami-probe", "open-write"]);
    // A setuid-root binary planted by host root: the classic way up from uid 1001.
    const setuid = join(harness.workspaceDir, "probes", "setuid-whoami");
    await copyFile(join(harness.workspaceDir, "probes", "whoami-probe"), setuid);
    await chown(setuid, 0, 0);
    await chmod(setuid, 0o4755);
  });

  after(() => harness.close());

  escapeCase(
    h,
    "privilege",
    "read uid, CapEff, NoNewPrivs, Seccomp from /proc/self/status",
    "uid 1001, CapEff 0, NoNewPrivs 1, Seccomp 2",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run(["cat", "/proc/self/status"]);
      assert.equal(result.exitCode, 0);
      const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(stdout)?.[1]?.trim();
      const uids = field("Uid")?.split(/\s+/) ?? [];
      observe(
        `Uid ${uids.join("/")}, CapEff ${field("CapEff")}, NoNewPrivs ${field("NoNewPrivs")}, Seccomp ${field("Seccomp")}`,
      );
      assert.ok(uids.length === 4 && uids.every((uid) => uid !== "0"), `uids: ${uids.join(" ")}`);
      assert.deepEqual(uids, ["1001", "1001", "1001", "1001"]);
      assert.equal(field("CapEff"), "0000000000000000");
      assert.equal(field("CapPrm"), "0000000000000000");
      assert.equal(field("CapBnd"), "0000000000000000");
      assert.equal(field("NoNewPrivs"), "1");
      assert.equal(field("Seccomp"), "2");
    },
  );

  escapeCase(
    h,
    "privilege",
    "mount, unshare, clone(CLONE_NEWUSER), keyctl, bpf, ptrace, io_uring, kexec, modules, clock and 30 more dangerous calls",
    "each EPERM (clone3 ENOSYS)",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run(["/workspace/probes/syscall-probe"]);
      assert.equal(result.exitCode, 0, stdout);
      const lines = parseProbeLines(stdout);
      // Positive control: the probe itself can do ordinary things.
      assert.equal(lines.get("fork"), "ok");
      const wrong: string[] = [];
      for (const [call, errno] of Object.entries(deniedCalls)) {
        if (lines.get(call) !== `errno=${errno}`) wrong.push(`${call}: ${lines.get(call) ?? "(no line)"}`);
      }
      observe(`${Object.keys(deniedCalls).length} calls denied as expected`);
      assert.deepEqual(wrong, []);
    },
  );

  escapeCase(h, "privilege", "run a setuid-root binary", "euid stays 1001", async ({ sandbox, observe }) => {
    const { result, stdout } = await sandbox.run([
      "sh",
      "-c",
      "stat -c '%u %a' /workspace/probes/setuid-whoami && /workspace/probes/setuid-whoami",
    ]);
    assert.equal(result.exitCode, 0, stdout);
    observe(stdout.trim().replace(/\n/g, "; "));
    // Control: the binary really is setuid root as the sandbox sees it.
    assert.match(stdout, /^0 4755$/m);
    assert.match(stdout, /^uid=1001 euid=1001 gid=1001 egid=1001$/m);
  });

  escapeCase(
    h,
    "privilege",
    "write to the root filesystem (/, /etc, /usr/bin)",
    "EROFS",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run([
        "sh",
        "-c",
        'for p in /escape /etc/escape /usr/bin/escape /etc/passwd; do if ( : >> "$p" ) 2>/dev/null; then echo "$p writable"; else echo "$p denied"; fi; done; touch /etc/escape 2>&1 || true',
      ]);
      assert.equal(result.exitCode, 0);
      observe(stdout.trim().split("\n").pop() ?? "");
      assert.doesNotMatch(stdout, /writable/);
      assert.equal((stdout.match(/ denied$/gm) ?? []).length, 4);
      assert.match(stdout, /Read-only file system/);
    },
  );

  escapeCase(
    h,
    "privilege",
    "copy a binary to /tmp (and $HOME) and execute it",
    "Permission denied (noexec)",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run([
        "sh",
        "-c",
        'cp /workspace/probes/whoami-probe /tmp/w && chmod 755 /tmp/w && /workspace/probes/whoami-probe && /tmp/w; echo exit=$?; cp /tmp/w "$HOME/w" && "$HOME/w"; echo home_exit=$?; grep \' /tmp \' /proc/mounts',
      ]);
      assert.equal(result.exitCode, 0);
      observe(`${/exit=\d+/.exec(stdout)?.[0] ?? ""}; ${/ \/tmp \S+ (\S+)/.exec(stdout)?.[1] ?? ""}`);
      // Control: the same binary runs from /workspace.
      assert.match(stdout, /^uid=1001 euid=1001/m);
      assert.equal((stdout.match(/^uid=/gm) ?? []).length, 1, "the copy in /tmp ran");
      assert.match(stdout, /^exit=126$/m);
      // $HOME is the other writable tmpfs; it must not be a way around /tmp's noexec.
      assert.match(stdout, /^home_exit=126$/m);
      assert.match(stdout, / \/tmp tmpfs \S*noexec/);
      assert.match(stdout, / \/tmp tmpfs \S*nosuid/);
    },
  );

  escapeCase(
    h,
    "privilege",
    "plant a file in, or replace the socket of, /run/airlock (the proxy's socket dir)",
    "EROFS",
    async ({ sandbox, observe }) => {
      const socketDir = await mkdtemp(join(tmpdir(), "airlock-escape-sock-"));
      try {
        await writeFile(join(socketDir, "llm.sock"), "");
        // World-writable on the host on purpose: only the read-only mount may stop the writes.
        await chmod(socketDir, 0o777);
        const { result, stdout } = await sandbox.run(
          [
            "sh",
            "-c",
            "ls /run/airlock; touch /run/airlock/planted 2>&1; rm -f /run/airlock/llm.sock 2>&1; ln -s /etc/passwd /run/airlock/x 2>&1; true",
          ],
          { socketDir },
        );
        assert.equal(result.exitCode, 0);
        observe(stdout.trim().split("\n").slice(1).join("; "));
        // Control: the folder really is the one mounted.
        assert.match(stdout, /^llm\.sock$/m);
        assert.equal((stdout.match(/Read-only file system/g) ?? []).length, 3, stdout);
        assert.deepEqual(await readdir(socketDir), ["llm.sock"]);
      } finally {
        await rm(socketDir, { recursive: true, force: true });
      }
    },
  );

  escapeCase(h, "privilege", "find the Docker socket", "absent", async ({ sandbox, observe }) => {
    const { result, stdout } = await sandbox.run([
      "sh",
      "-c",
      'for p in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock; do if [ -e "$p" ]; then echo "$p present"; else echo "$p absent"; fi; done; echo sockets:; find / -xdev -type s 2>/dev/null | head -20',
    ]);
    assert.equal(result.exitCode, 0);
    observe(stdout.trim().replace(/\n/g, "; "));
    assert.doesNotMatch(stdout, /present/);
    const sockets = stdout.split("sockets:")[1] ?? "";
    assert.doesNotMatch(sockets, /docker|containerd/, "an engine socket is reachable");
    assert.equal((stdout.match(/ absent$/gm) ?? []).length, 3);
  });

  escapeCase(
    h,
    "privilege",
    "open /proc/sys/* and /proc/sysrq-trigger for writing",
    "denied",
    async ({ sandbox, observe }) => {
      const paths = [
        "/proc/sys/kernel/hostname",
        "/proc/sys/kernel/core_pattern",
        "/proc/sys/vm/drop_caches",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sysrq-trigger",
      ];
      const { result, stdout } = await sandbox.run(["/workspace/probes/open-write", ...paths]);
      assert.equal(result.exitCode, 0, stdout);
      const lines = parseProbeLines(stdout);
      observe(paths.map((p) => `${p} ${lines.get(p) ?? "?"}`).join("; "));
      for (const path of paths) {
        const outcome = lines.get(path);
        assert.ok(outcome !== undefined && outcome !== "ok", `${path} is writable`);
        assert.match(outcome, /^errno=(EACCES|EROFS|EPERM|ENOENT)$/);
      }
    },
  );
});
