import type { CapabilityRequest, RunEvent } from "../../core/db/schema.ts";

export interface TimelineEntry {
  at: Date;
  /** `state.running`, `budget.soft_threshold`, `capability.requested`, `capability.decided`, `image.ready`… */
  event: string;
  detail: string;
}

/**
 * One run's story in time order (issue 13 §2): its states and run events, each capability
 * request and its decision with who made it, and the image the agent ran in. Entries at the
 * same instant keep the order they were recorded in.
 */
export function buildRunTimeline(input: {
  events: readonly RunEvent[];
  capabilities: readonly CapabilityRequest[];
  image: { at: Date; ref: string; id: string } | undefined;
}): TimelineEntry[] {
  const entries: TimelineEntry[] = input.events.map((event) => ({
    at: event.at,
    event: event.type,
    detail: describeRunEvent(event),
  }));
  for (const request of input.capabilities) {
    const name = `${request.kind}:${request.name}${request.version ? `@${request.version}` : ""}`;
    entries.push({
      at: request.createdAt,
      event: "capability.requested",
      detail: `${name}: ${request.reason}`,
    });
    if (request.decidedAt !== null) {
      entries.push({
        at: request.decidedAt,
        event: "capability.decided",
        detail: `${name} ${request.state} by ${request.decidedBy ?? "?"}${request.decisionReason ? `: ${request.decisionReason}` : ""}`,
      });
    }
  }
  if (input.image !== undefined) {
    entries.push({
      at: input.image.at,
      event: "image.ready",
      detail: `${input.image.ref} (${input.image.id})`,
    });
  }
  // Array.prototype.sort is stable: ties stay in the order pushed.
  return entries.sort((a, b) => a.at.getTime() - b.at.getTime());
}

function describeRunEvent(event: RunEvent): string {
  const { data } = event;
  if (!event.type.startsWith("state.")) return JSON.stringify(data);
  const from = typeof data.from === "string" ? data.from : "?";
  const reason = typeof data.reason === "string" && data.reason !== "" ? `: ${data.reason}` : "";
  return `${from} → ${event.type.slice("state.".length)}${reason}`;
}
