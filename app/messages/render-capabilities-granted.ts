import { formatCapability } from "../../core/capabilities/format-capability.ts";
import type { CapabilityRequest } from "../../core/db/schema.ts";
import type { ResumeAnswer } from "../../core/db/runs.ts";
import { formatCode } from "../../core/summary/escape-markdown.ts";
import { mentionUser } from "../../core/summary/mention-user.ts";

/** The answer to an approved review: what it granted, and whether the run resumes. */
export function renderCapabilitiesGranted(
  login: string,
  runId: string,
  granted: readonly CapabilityRequest[],
  resume: ResumeAnswer,
): string {
  const what =
    granted.length === 0
      ? `Airlock run ${formatCode(runId)} had no request left to grant`
      : `${mentionUser(login)} granted what Airlock run ${formatCode(runId)} asked for: ${granted
          .map((r) =>
            formatCode(formatCapability({ kind: r.kind, name: r.name, version: r.version ?? undefined })),
          )
          .join(", ")}`;
  return `${what}. ${renderResumeNote(resume)}`;
}

/** What happens to the run after a decision. */
export function renderResumeNote(resume: ResumeAnswer): string {
  if (resume.resumed && resume.awaitingImage) {
    return "Every request is decided: the repository's image workflow builds the image with what was granted, and the run resumes on it when the workflow reports back.";
  }
  if (resume.resumed) return "Every request is decided: the run resumes on an image with what was granted.";
  if (resume.why === "pending") {
    const n = resume.pending ?? 0;
    return `${n} other request${n === 1 ? "" : "s"} of the run still wait${n === 1 ? "s" : ""} for a decision; the run resumes once ${n === 1 ? "it is" : "they are"} decided.`;
  }
  return "The run is no longer waiting for a decision.";
}
