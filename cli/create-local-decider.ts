import { createInterface } from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import type { CapabilityRequest } from "../core/db/schema.ts";
import type { LocalDecision } from "../runner/run/recorded-run-input.ts";

/** Who decided at the terminal, as the ledger and the summary name them. */
export const terminalApprover = "operator (terminal)";

/**
 * How `airlock run` answers an agent's capability requests (issue 10 §8):
 * - `--deny-requests`: every request is denied, saying so (for scripts);
 * - on a terminal: each request is asked, with the agent's reason; `y` grants, anything
 *   else denies (`n <why>` gives the agent a reason);
 * - otherwise (no terminal to ask on): denied, and the reason says how to pre-approve.
 * The agent's reason is its own text: control characters are removed before it is shown.
 */
export function createLocalDecider(options: {
  denyAll: boolean;
  input: Readable & { isTTY?: boolean };
  output: Writable;
}): (pending: readonly CapabilityRequest[]) => Promise<LocalDecision[]> {
  return async (pending) => {
    if (options.denyAll) {
      return pending.map((r) => ({
        id: r.id,
        state: "denied",
        by: "operator (--deny-requests)",
        reason: "airlock run was started with --deny-requests",
      }));
    }
    if (options.input.isTTY !== true) {
      return pending.map((r) => ({
        id: r.id,
        state: "denied",
        by: "airlock run",
        reason: `nobody could be asked (not on a terminal); pre-approve it with --grant ${describe(r)}`,
      }));
    }
    const rl = createInterface({ input: options.input, output: options.output, terminal: true });
    try {
      const decisions: LocalDecision[] = [];
      for (const request of pending) {
        options.output.write(
          `\r\x1b[2K\nThe agent asks for ${describe(request)}\n  why: ${clean(request.reason)}\n`,
        );
        const answer = (await rl.question("Grant it? [y/N, or n <why>] ")).trim();
        if (/^y(es)?$/i.test(answer)) {
          decisions.push({ id: request.id, state: "granted", by: terminalApprover });
        } else {
          const why = answer.replace(/^no?\b\s*/i, "").trim();
          decisions.push({
            id: request.id,
            state: "denied",
            by: terminalApprover,
            reason: why === "" ? "denied at the terminal" : clean(why).slice(0, 500),
          });
        }
      }
      return decisions;
    } finally {
      rl.close();
    }
  };
}

function describe(r: Pick<CapabilityRequest, "kind" | "name" | "version">): string {
  return `${r.kind}:${r.name}${r.version ? `${r.kind === "pip" ? "==" : "@"}${r.version}` : ""}`;
}

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function clean(text: string): string {
  return text.replace(controlCharacters, "");
}
