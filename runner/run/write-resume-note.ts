import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import { agentStateDir } from "./prepare-agent-state.ts";
import type { RunPhaseContext } from "./run-phase-context.ts";

export interface ResumeDecision {
  id: number;
  kind: string;
  name: string;
  version: string | null;
  state: CapabilityRequest["state"];
  by: string | null;
  reason: string | null;
}

/**
 * What the agent is told when its run resumes (issue 10 §6): every request it made in the
 * segment before, with the decision, who made it and why. Written to
 * `$AIRLOCK_STATE_DIR/resume.json` as `{message, decisions}`: `message` is the text an
 * agent hands its model as the next user turn (the builtin agent does; CLIs pass it to
 * their own resume command).
 */
export async function writeResumeNote(ctx: RunPhaseContext, segment: number): Promise<ResumeDecision[]> {
  const rows = (await listCapabilityRequests(ctx.deps.db, ctx.input.runId)).filter(
    (r) => r.segment === segment - 1,
  );
  const decisions: ResumeDecision[] = rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    name: r.name,
    version: r.version,
    state: r.state,
    by: r.decidedBy,
    reason: r.decisionReason,
  }));
  const note = { message: composeResumeMessage(decisions), decisions };
  await writeFile(join(agentStateDir(ctx), "resume.json"), `${JSON.stringify(note, null, 2)}\n`, {
    mode: 0o644,
  });
  return decisions;
}

export function composeResumeMessage(decisions: readonly ResumeDecision[]): string {
  const lines = [
    "The run was paused for your capability requests and has resumed in a new container, with the same /workspace. The decisions:",
  ];
  for (const d of decisions) {
    const what = `${d.kind}:${d.name}${d.version ? `@${d.version}` : ""}`;
    const why = d.reason ? `: ${d.reason}` : "";
    switch (d.state) {
      case "granted":
        lines.push(
          `- ${what}: GRANTED by ${d.by ?? "a maintainer"}${d.kind === "network" ? " (reachable through the HTTPS_PROXY the container has)" : d.kind === "llm-tool" ? " (the LLM endpoint now accepts it)" : " (installed in this container's image)"}.`,
        );
        break;
      case "denied":
        lines.push(`- ${what}: DENIED by ${d.by ?? "a maintainer"}${why}. Do without it.`);
        break;
      case "failed":
        lines.push(`- ${what}: granted, but installing it FAILED${why}. Do without it.`);
        break;
      default:
        lines.push(`- ${what}: ${d.state}${why}.`);
    }
  }
  lines.push("Continue the task from where you stopped.");
  return lines.join("\n");
}
