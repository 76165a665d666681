import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { acquireRunSlot, type RunSlot } from "../../runner/run/acquire-run-slot.ts";

const module = fileURLToPath(new URL("../../runner/run/acquire-run-slot.ts", import.meta.url));
// Each test its own key: the slots are host-wide, and other test files run beside this one.
const newKey = () => `test-${randomBytes(8).toString("hex")}`;

/** Resolves with the pids once `acquireRunSlot` finds every slot taken and starts to wait. */
function waitNotice() {
  let tell!: (holders: number[]) => void;
  const told = new Promise<number[]>((resolve) => (tell = resolve));
  return { told, onWait: (holders: number[]) => tell(holders) };
}

// A broken semaphore shows as a wait that never ends: each test fails after 30 s instead.
describe("acquireRunSlot", { timeout: 30_000 }, () => {
  it("hands out as many slots as asked; the next one waits until a slot is released, then takes it", async () => {
    const key = newKey();
    const first = await acquireRunSlot({ key, slots: 2 });
    const second = await acquireRunSlot({ key, slots: 2 });
    assert.deepEqual([first.slot, second.slot].sort(), [0, 1]);
    const notice = waitNotice();
    const third: { slot?: RunSlot } = {};
    const pending = acquireRunSlot({ key, slots: 2, onWait: notice.onWait }).then((s) => (third.slot = s));
    assert.deepEqual(await notice.told, [process.pid, process.pid], "both holders name this process");
    assert.equal(third.slot, undefined, "a third run waits while both slots are held");
    await second.release();
    const taken = await pending;
    assert.equal(taken.slot, second.slot, "it takes the slot that was released");
    await first.release();
    await taken.release();
  });

  it("keeps the slots of different keys apart", async () => {
    const held = await acquireRunSlot({ key: newKey(), slots: 1 });
    const other = await acquireRunSlot({ key: newKey(), slots: 1 });
    assert.equal(other.slot, 0);
    await held.release();
    await other.release();
  });

  it("frees a slot whose holder was killed (no stale lock), and names the holder while waiting", async (t) => {
    const key = newKey();
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { acquireRunSlot } from ${JSON.stringify(module)};
         await acquireRunSlot({ key: ${JSON.stringify(key)}, slots: 1 });
         process.stdout.write("held\\n");
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    // Also when the test times out.
    t.after(() => child.kill("SIGKILL"));
    const [line] = (await once(child.stdout, "data")) as [Buffer];
    assert.equal(line.toString(), "held\n");
    const notice = waitNotice();
    const pending = acquireRunSlot({ key, slots: 1, onWait: notice.onWait, recheckMs: 60_000 });
    assert.deepEqual(await notice.told, [child.pid]);
    child.kill("SIGKILL");
    const slot = await pending;
    assert.equal(slot.slot, 0);
    await slot.release();
  });

  it("stops waiting when its signal aborts, with the signal's reason", async () => {
    const key = newKey();
    const held = await acquireRunSlot({ key, slots: 1 });
    const controller = new AbortController();
    const notice = waitNotice();
    const pending = acquireRunSlot({ key, slots: 1, signal: controller.signal, onWait: notice.onWait });
    await notice.told;
    controller.abort(new Error("cancelled by the operator"));
    await assert.rejects(pending, /cancelled by the operator/);
    await held.release();
  });
});
