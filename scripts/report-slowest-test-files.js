// A node:test reporter that prints the slowest test files when the run ends: wall time per
// file, from the start of its process to its end (imports and set-up included), so CI shows
// where the suite's minutes go. Used beside the spec reporter by scripts/run-tests.js.
import { resolve } from "node:path";

const shown = 10;

export default async function* reportSlowestTestFiles(source) {
  const files = [];
  for await (const event of source) {
    // Each file run in a process of its own is reported as one top-level test named by its path.
    if (event.type !== "test:complete" || event.data.nesting !== 0 || !event.data.file) continue;
    if (resolve(event.data.name) !== event.data.file) continue;
    files.push({
      name: event.data.name,
      ms: event.data.details.duration_ms,
      failed: event.data.details.passed === false,
    });
  }
  if (files.length === 0) return;
  files.sort((a, b) => b.ms - a.ms);
  const total = files.reduce((sum, file) => sum + file.ms, 0);
  yield `\nslowest ${Math.min(shown, files.length)} of ${files.length} test files (wall time each; ${(total / 1000).toFixed(0)} s summed over files run in parallel):\n`;
  for (const file of files.slice(0, shown)) {
    yield `${(file.ms / 1000).toFixed(1).padStart(7)} s  ${file.name}${file.failed ? "  (failed)" : ""}\n`;
  }
}
