import { appendFileSync } from "node:fs";
import { test } from "node:test";
import { createCaseSandbox, type EscapeHarness } from "./escape-harness.ts";

export interface EscapeRow {
  area: string;
  attack: string;
  expected: string;
  result: "pass" | "FAIL";
  observed: string;
  durationMs: number;
  /** Definition order within its file, so the table reads in the order the cases are written. */
  order: number;
}

export interface CaseContext {
  sandbox: ReturnType<typeof createCaseSandbox>;
  /** What was actually seen (an errno, a measurement); goes into the results table. */
  observe(text: string): void;
}

/**
 * One escape case: a node:test test whose outcome is also appended, as a JSON line, to the
 * file named by AIRLOCK_ESCAPE_RESULTS (scripts/escape-table.ts builds the README table from
 * it). After the attack, it proves none of the case's containers is left behind.
 */
export function escapeCase(
  getHarness: () => EscapeHarness,
  area: string,
  attack: string,
  expected: string,
  body: (ctx: CaseContext) => Promise<void>,
): void {
  const order = (defined += 1);
  test(`${area}: ${attack} → ${expected}`, async () => {
    const started = Date.now();
    const observed: string[] = [];
    const sandbox = createCaseSandbox(getHarness());
    const row = (result: EscapeRow["result"], extra?: string): EscapeRow => ({
      area,
      attack,
      expected,
      result,
      observed: [...observed, ...(extra ? [extra] : [])].join("; "),
      durationMs: Date.now() - started,
      order,
    });
    try {
      await body({ sandbox, observe: (text) => observed.push(text) });
      await sandbox.assertNoLeftovers();
    } catch (error) {
      const message = (error as Error).message.split("\n")[0] ?? "";
      recordRow(row("FAIL", message));
      throw error;
    }
    recordRow(row("pass"));
  });
}

let defined = 0;

function recordRow(row: EscapeRow): void {
  const file = process.env.AIRLOCK_ESCAPE_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}
