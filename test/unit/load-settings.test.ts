import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../../core/errors.ts";
import { chooseLlmUpstreams } from "../../core/settings/choose-llm-upstreams.ts";
import { loadSettings, requireSettings } from "../../core/settings/load-settings.ts";

describe("loadSettings", () => {
  it("gives defaults for an empty environment", () => {
    const s = loadSettings({});
    assert.equal(s.github.apiUrl, "https://api.github.com");
    assert.equal(s.databaseUrl, undefined);
    assert.equal(s.dataDir, ".airlock");
    assert.equal(s.port, 3000);
    assert.equal(s.maxDiskMb, undefined, "no disk cap unless the operator sets one");
    assert.equal(loadSettings({ AIRLOCK_MAX_DISK_MB: "2048" }).maxDiskMb, 2048);
  });

  it("keeps repository mirrors under the data folder, capped at 10 GiB, unless told otherwise (issue 15)", () => {
    assert.deepEqual(loadSettings({}).mirrorCache, { dir: ".airlock/mirrors", maxMb: 10_240 });
    assert.deepEqual(loadSettings({ AIRLOCK_DATA_DIR: "/var/lib/airlock/" }).mirrorCache, {
      dir: "/var/lib/airlock/mirrors",
      maxMb: 10_240,
    });
    assert.deepEqual(
      loadSettings({ AIRLOCK_MIRROR_DIR: "/cache/git", AIRLOCK_MIRROR_CACHE_MB: "512" }).mirrorCache,
      {
        dir: "/cache/git",
        maxMb: 512,
      },
    );
    assert.equal(
      loadSettings({ AIRLOCK_MIRROR_CACHE_MB: "0" }).mirrorCache,
      undefined,
      "0 turns mirrors off",
    );
    assert.throws(() => loadSettings({ AIRLOCK_MIRROR_CACHE_MB: "-1" }), /AIRLOCK_MIRROR_CACHE_MB: /);
  });

  it("reports every bad variable at once, each by name", () => {
    assert.throws(
      () =>
        loadSettings({
          APP_ID: "abc",
          DATABASE_URL: "mysql://x",
          GITHUB_API_URL: "not a url",
          AIRLOCK_TOKEN_SECRET: "short",
          AIRLOCK_MAX_CPUS: "-1",
          AIRLOCK_MAX_DISK_MB: "4",
        }),
      (error: unknown) => {
        assert.ok(error instanceof UsageError);
        for (const name of [
          "APP_ID",
          "DATABASE_URL",
          "GITHUB_API_URL",
          "AIRLOCK_TOKEN_SECRET",
          "AIRLOCK_MAX_CPUS",
          "AIRLOCK_MAX_DISK_MB",
        ]) {
          assert.match(error.message, new RegExp(`${name}: `), `${name} named`);
        }
        return true;
      },
    );
  });

  it("reads AIRLOCK_ALLOWED_MODELS as a list of model ids and globs", () => {
    assert.deepEqual(loadSettings({}).allowedModels, []);
    assert.deepEqual(loadSettings({ AIRLOCK_ALLOWED_MODELS: "gpt-4.1-mini, claude-*" }).allowedModels, [
      "gpt-4.1-mini",
      "claude-*",
    ]);
    assert.throws(
      () => loadSettings({ AIRLOCK_ALLOWED_MODELS: "gpt-4.1;rm -rf" }),
      /AIRLOCK_ALLOWED_MODELS: must be a comma-separated list/,
    );
  });

  it("reads the egress proxy's ports as lists, none as an empty one", () => {
    assert.deepEqual(loadSettings({}).egressPorts, { connectPorts: undefined, httpPorts: undefined });
    assert.deepEqual(
      loadSettings({ AIRLOCK_EGRESS_CONNECT_PORTS: "443, 8443,443", AIRLOCK_EGRESS_HTTP_PORTS: "none" })
        .egressPorts,
      { connectPorts: [443, 8443], httpPorts: [] },
    );
    for (const bad of ["0", "443;22", "65536", "https", "443,"]) {
      assert.throws(
        () => loadSettings({ AIRLOCK_EGRESS_CONNECT_PORTS: bad }),
        /AIRLOCK_EGRESS_CONNECT_PORTS: must be a comma-separated list of TCP ports 1-65535, or none/,
        bad,
      );
    }
  });

  it("keeps the run-history page off unless AIRLOCK_HISTORY_TOKEN is set, and refuses a short one", () => {
    assert.equal(loadSettings({}).historyToken, undefined);
    assert.equal(loadSettings({ AIRLOCK_HISTORY_TOKEN: "  " }).historyToken, undefined);
    const token = "0123456789abcdef0123456789abcdef";
    assert.equal(loadSettings({ AIRLOCK_HISTORY_TOKEN: token }).historyToken, token);
    assert.throws(
      () => loadSettings({ AIRLOCK_HISTORY_TOKEN: "letmein" }),
      (error: unknown) =>
        error instanceof UsageError &&
        /AIRLOCK_HISTORY_TOKEN: must be at least 32 characters/.test(error.message) &&
        !error.message.includes("letmein"),
    );
  });

  it("rejects a private key that is not PEM and never echoes it", () => {
    assert.throws(
      () => loadSettings({ PRIVATE_KEY: "hunter2-secret-value" }),
      (error: unknown) =>
        error instanceof UsageError &&
        /PRIVATE_KEY: must be a PEM/.test(error.message) &&
        !error.message.includes("hunter2"),
    );
  });

  it("names each missing required variable with a hint", () => {
    const s = loadSettings({ WEBHOOK_SECRET: "x" });
    assert.throws(
      () => requireSettings(s, ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"], "airlock app"),
      (error: unknown) =>
        error instanceof UsageError &&
        /APP_ID/.test(error.message) &&
        /PRIVATE_KEY/.test(error.message) &&
        !/WEBHOOK_SECRET/.test(error.message),
    );
  });

  it("hands back the required settings, set", () => {
    const secret = "s".repeat(32);
    const s = loadSettings({ AIRLOCK_TOKEN_SECRET: secret, APP_ID: "12" });
    assert.deepEqual(requireSettings(s, ["AIRLOCK_TOKEN_SECRET", "APP_ID"], "airlock x"), {
      AIRLOCK_TOKEN_SECRET: secret,
      APP_ID: 12,
    });
  });

  it("refuses, by name and with the reason, a setting Airlock does not act on", () => {
    for (const [name, value] of [
      ["AIRLOCK_AGENT_IMAGE", "my/agent:1"],
      ["AIRLOCK_SANDBOX_RUNTIME", "runsc"],
      ["AIRLOCK_ALLOW_UNSAFE_NO_SECCOMP", "true"],
    ] as const) {
      assert.throws(
        () => loadSettings({ [name]: value }),
        (error: unknown) =>
          error instanceof UsageError &&
          new RegExp(`${name}: is not supported: .*; unset it`).test(error.message),
        name,
      );
    }
    // Keeping seccomp on is what happens anyway; an empty value is no setting at all.
    assert.doesNotThrow(() => loadSettings({ AIRLOCK_ALLOW_UNSAFE_NO_SECCOMP: "false" }));
    assert.doesNotThrow(() => loadSettings({ AIRLOCK_SANDBOX_RUNTIME: "" }));
  });
});

describe("chooseLlmUpstreams", () => {
  it("configures a provider by its key or by its base URL alone, and leaves out the rest", () => {
    assert.deepEqual(chooseLlmUpstreams(loadSettings({})), {});
    assert.deepEqual(chooseLlmUpstreams(loadSettings({ OPENAI_API_KEY: "k1" })), {
      openai: { baseUrl: "https://api.openai.com/v1", apiKey: "k1" },
    });
    assert.deepEqual(
      chooseLlmUpstreams(
        loadSettings({ OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", ANTHROPIC_API_KEY: "k2" }),
      ),
      {
        openai: { baseUrl: "http://127.0.0.1:11434/v1", apiKey: undefined },
        anthropic: { baseUrl: "https://api.anthropic.com", apiKey: "k2" },
      },
    );
  });
});
