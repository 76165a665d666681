import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chooseRunnerConcurrency } from "../../core/settings/choose-runner-concurrency.ts";
import { loadSettings } from "../../core/settings/load-settings.ts";

describe("chooseRunnerConcurrency", () => {
  it("runs two per CPU when memory is plentiful", () => {
    const choice = chooseRunnerConcurrency({ cpus: 2, availableMemoryMb: 64 * 1024 }, 4096);
    assert.equal(choice.concurrency, 4);
    assert.match(choice.reason, /2 CPUs × 2 = 4/);
  });

  it("runs only as many sandboxes as 75 % of the free memory holds at the ceiling each", () => {
    // 16 CPUs would carry 32; 24 GiB × 0.75 / 4 GiB = 4.5 → 4.
    const choice = chooseRunnerConcurrency({ cpus: 16, availableMemoryMb: 24 * 1024 }, 4096);
    assert.equal(choice.concurrency, 4);
    assert.match(choice.reason, /4096 MiB per sandbox = 4/);
    // A smaller ceiling fits more.
    assert.equal(chooseRunnerConcurrency({ cpus: 16, availableMemoryMb: 24 * 1024 }, 1024).concurrency, 18);
  });

  it("never goes below one run, however small the host", () => {
    assert.equal(chooseRunnerConcurrency({ cpus: 1, availableMemoryMb: 512 }, 4096).concurrency, 1);
    assert.equal(chooseRunnerConcurrency({ cpus: 0, availableMemoryMb: 0 }, 4096).concurrency, 1);
  });
});

describe("loadSettings: AIRLOCK_RUNNER_CONCURRENCY", () => {
  const host = { cpus: 2, availableMemoryMb: 20_000 };

  it("defaults to what the host carries, sized by the operator's memory ceiling, and says why", () => {
    const s = loadSettings({}, host);
    assert.equal(s.runner.concurrency, 3, "2 CPUs × 2 = 4, 75 % of 20000 MiB / 4096 = 3");
    assert.match(s.runner.concurrencyReason, /^3: the fewer of/);
    assert.equal(loadSettings({ AIRLOCK_MAX_MEMORY_MB: "2048" }, host).runner.concurrency, 4);
  });

  it("takes the setting over the default", () => {
    const s = loadSettings({ AIRLOCK_RUNNER_CONCURRENCY: "9" }, host);
    assert.equal(s.runner.concurrency, 9);
    assert.equal(s.runner.concurrencyReason, "9, set by AIRLOCK_RUNNER_CONCURRENCY");
  });
});
