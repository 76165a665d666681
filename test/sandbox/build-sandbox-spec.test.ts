// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UsageError } from "../../core/errors.ts";
import { buildSandboxSpec, type SandboxSpecInput } from "../../runner/sandbox/build-sandbox-spec.ts";
import { loadSeccompProfile } from "../../runner/sandbox/load-seccomp-profile.ts";
import { SandboxError } from "../../runner/sandbox/sandbox-error.ts";
import { buildSandboxLabels } from "../../runner/sandbox/sandbox-labels.ts";
import { defaultSandboxLimits, resolveSandboxLimits } from "../../runner/sandbox/sandbox-limits.ts";

const limits = { memoryMb: 512, cpus: 0.5, pids: 64, timeoutS: 30, tmpfsMb: 32, outputCapBytes: 1000 };

function input(overrides: Partial<SandboxSpecInput> = {}): SandboxSpecInput {
  return {
    image: "airlock/base:0.1.0",
    argv: ["node", "--version"],
    limits,
    labels: buildSandboxLabels({ runId: "r1", runnerId: "runner-a", ownerPid: 42, ownerHost: "h" }),
    seccompProfile: '{"defaultAction":"SCMP_ACT_ERRNO"}',
    ...overrides,
  };
}

describe("buildSandboxSpec", () => {
  it("applies the whole hardening list of DESIGN §4", () => {
    const spec = buildSandboxSpec(
      input({
        workspaceDir: "/srv/work/r1",
        socketDir: "/srv/sockets/r1",
        env: { OPENAI_BASE_URL: "http://x" },
      }),
    );
    assert.equal(spec.user, "1001:1001");
    assert.equal(spec.readonlyRootfs, true);
    assert.deepEqual(spec.capDrop, ["ALL"]);
    assert.deepEqual(spec.capAdd, []);
    assert.deepEqual(spec.securityOpt, ["no-new-privileges", 'seccomp={"defaultAction":"SCMP_ACT_ERRNO"}']);
    assert.equal(spec.networkMode, "none");
    assert.equal(spec.pidsLimit, 64);
    assert.equal(spec.memoryBytes, 512 * 1024 * 1024);
    assert.equal(spec.memorySwapBytes, spec.memoryBytes);
    assert.equal(spec.nanoCpus, 500_000_000);
    assert.equal(spec.tmpfs["/tmp"], "rw,noexec,nosuid,nodev,size=32m");
    assert.match(spec.tmpfs["/home/airlock"] ?? "", /^rw,noexec,nosuid,nodev,size=32m,uid=1001,gid=1001/);
    assert.deepEqual(spec.binds, [
      { hostPath: "/srv/work/r1", containerPath: "/workspace", readOnly: false },
      { hostPath: "/srv/sockets/r1", containerPath: "/run/airlock", readOnly: true },
    ]);
    assert.equal(spec.workingDir, "/workspace");
    assert.deepEqual(spec.cmd, ["node", "--version"]);
    assert.deepEqual(spec.labels, {
      "airlock.managed": "true",
      "airlock.run-id": "r1",
      "airlock.runner-id": "runner-a",
      "airlock.owner-pid": "42",
      "airlock.owner-host": "h",
    });
    assert.equal(spec.openStdin, false);
  });

  it("passes no host environment, only the allowlist and the explicit map", () => {
    process.env.AIRLOCK_TEST_CANARY = "canary-should-never-enter";
    try {
      const spec = buildSandboxSpec(input({ env: { AIRLOCK_RUN_TOKEN: "t" } }));
      assert.deepEqual(Object.keys(spec.env).sort(), ["AIRLOCK_RUN_TOKEN", "HOME", "LANG", "PATH"]);
      assert.equal(spec.env.HOME, "/home/airlock");
      assert.ok(!JSON.stringify(spec).includes("canary-should-never-enter"));
    } finally {
      delete process.env.AIRLOCK_TEST_CANARY;
    }
  });

  it("mounts nothing without a workspace or socket dir and works in $HOME", () => {
    const spec = buildSandboxSpec(input());
    assert.deepEqual(spec.binds, []);
    assert.equal(spec.workingDir, "/home/airlock");
    assert.equal(spec.init, false);
    assert.equal(buildSandboxSpec(input({ init: true })).init, true);
  });

  it("refuses mounts that would expose the Docker socket, and relative or ':' paths", () => {
    for (const workspaceDir of [
      "/",
      "/var/run",
      "/run",
      "/var/run/docker.sock",
      "/var/../run",
      "rel/dir",
      "/a:b",
    ]) {
      assert.throws(() => buildSandboxSpec(input({ workspaceDir })), UsageError, workspaceDir);
    }
    assert.throws(() => buildSandboxSpec(input({ socketDir: "/var/run" })), /Docker socket/);
  });

  it("refuses env names and values that could smuggle variables", () => {
    assert.throws(() => buildSandboxSpec(input({ env: { "A=B": "x" } })), UsageError);
    assert.throws(() => buildSandboxSpec(input({ env: { A: "x\nLD_PRELOAD=/tmp/x.so" } })), UsageError);
  });

  it("refuses an empty command and a missing profile", () => {
    assert.throws(() => buildSandboxSpec(input({ argv: [] })), UsageError);
    assert.throws(() => buildSandboxSpec(input({ seccompProfile: "" })), UsageError);
  });
});

describe("resolveSandboxLimits", () => {
  const ceiling = { memoryMb: 1024, cpus: 1, pids: 100, timeoutS: 60, tmpfsMb: 128, outputCapBytes: 4096 };

  it("clamps every requested limit above the ceiling down to it, and says which", () => {
    const { limits: got, clamped } = resolveSandboxLimits(
      { memoryMb: 8192, cpus: 4, pids: 10_000, timeoutS: 86_400, tmpfsMb: 4096, outputCapBytes: 1e9 },
      ceiling,
    );
    assert.deepEqual(got, ceiling);
    assert.deepEqual(clamped.sort(), ["cpus", "memoryMb", "outputCapBytes", "pids", "timeoutS", "tmpfsMb"]);
  });

  it("keeps requests under the ceiling and fills the rest from the defaults", () => {
    const { limits: got, clamped } = resolveSandboxLimits(
      { memoryMb: 256, timeoutS: 5 },
      { memoryMb: 4096, cpus: 2, pids: 512, timeoutS: 3600 },
    );
    assert.deepEqual(got, { ...defaultSandboxLimits, memoryMb: 256, timeoutS: 5 });
    assert.deepEqual(clamped, []);
  });

  it("lowers a default that is above a low ceiling without calling it a request", () => {
    const { limits: got, clamped } = resolveSandboxLimits(undefined, {
      memoryMb: 128,
      cpus: 0.5,
      pids: 10,
      timeoutS: 5,
    });
    assert.equal(got.memoryMb, 128);
    assert.equal(got.cpus, 0.5);
    assert.equal(got.pids, 10);
    assert.equal(got.timeoutS, 5);
    assert.deepEqual(clamped, []);
  });

  it("rejects limits that are not positive numbers", () => {
    for (const bad of [
      { memoryMb: Number.NaN },
      { cpus: 0 },
      { pids: -1 },
      { timeoutS: Infinity },
      { memoryMb: 2 },
    ]) {
      assert.throws(() => resolveSandboxLimits(bad, ceiling), UsageError, JSON.stringify(bad));
    }
  });
});

describe("loadSeccompProfile", () => {
  it("loads the repository's profile as compact JSON", async () => {
    const json = await loadSeccompProfile();
    const parsed = JSON.parse(json) as { defaultAction: string };
    assert.match(parsed.defaultAction, /^SCMP_ACT_/);
    assert.ok(!json.includes("\n"));
  });

  it("refuses a missing, unparsable or foreign profile with an error naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "airlock-seccomp-"));
    try {
      await assert.rejects(loadSeccompProfile(join(dir, "absent.json")), (error: unknown) => {
        assert.ok(error instanceof SandboxError);
        assert.match(error.message, /seccomp profile missing.*absent\.json/);
        return true;
      });
      await writeFile(join(dir, "broken.json"), "{ not json");
      await assert.rejects(loadSeccompProfile(join(dir, "broken.json")), /not valid JSON/);
      await writeFile(join(dir, "other.json"), '{"hello":"world"}');
      await assert.rejects(loadSeccompProfile(join(dir, "other.json")), /defaultAction/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
