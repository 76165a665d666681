import type { IncomingMessage, ServerResponse } from "node:http";
import {
  defaultMaxPendingCapabilities,
  listCapabilityRequests,
  recordCapabilityRequest,
  type RecordCapabilityOutcome,
} from "../../../core/db/capability-requests.ts";
import type { CapabilityRequest } from "../../../core/db/schema.ts";
import { formatCapability } from "../../../core/capabilities/format-capability.ts";
import { validateCapabilityRequest } from "../../../core/capabilities/validate-capability-request.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { authenticateRequest } from "./authenticate-request.ts";
import { checkRunActive } from "./check-run-active.ts";
import { loadRunAccount } from "./load-run-account.ts";
import { readCapabilityBody } from "./read-capability-body.ts";
import { sendRefusal } from "./send-refusal.ts";

/** Where agents ask for capabilities (DESIGN §6); served by the proxy, never forwarded upstream. */
export const capabilitiesPath = "/airlock/v1/capabilities";

/**
 * `POST /airlock/v1/capabilities {kind, name, version?, reason}` and
 * `GET /airlock/v1/capabilities` (issue 10 §1), on the run's socket, with the run token:
 * - 202 `{id, kind, name, version, state: "pending", merged, message}`: recorded; the
 *   message tells the agent to finish its turn, and that the run resumes with the decision;
 * - 200 `{id, …, state, decided_by, decision_reason, message}`: already decided (granted,
 *   pre-approved, denied, failed, timed out), answered at once and unchanged;
 * - 400 invalid (the field in `error.param`, why in `error.message`), 429 too many pending,
 *   401/403/503 as for LLM calls;
 * - GET 200 `{requests: [...]}`: the run's requests and their states, oldest first.
 * Errors are in the OpenAI error shape `{error: {message, type, code, param}}`, as for LLM calls.
 */
export async function serveCapabilityRequests(
  ctx: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
): Promise<void> {
  if (method !== "POST" && method !== "GET") {
    req.resume();
    return sendError(
      res,
      405,
      "method_not_allowed",
      null,
      `${capabilitiesPath} takes POST (ask) or GET (list)`,
      {
        allow: "GET, POST",
      },
    );
  }
  const auth = authenticateRequest(ctx, req);
  if (!auth.ok) return sendRefusal(ctx, req, res, "openai", auth.refusal);
  const loaded = await loadRunAccount(ctx, auth.runId, auth.attempt);
  if (!loaded.ok) return sendRefusal(ctx, req, res, "openai", loaded.refusal);
  const runId = auth.runId;

  if (method === "GET") {
    req.resume();
    const rows = await listCapabilityRequests(ctx.deps.db, runId);
    return sendJson(res, 200, { requests: rows.map(describeRow) });
  }

  const active = checkRunActive(loaded.account);
  if (!active.ok) return sendRefusal(ctx, req, res, "openai", active.refusal);
  const read = await readCapabilityBody(req, { limitBytes: maxBodyBytes, timeoutMs: ctx.timeouts.bodyMs });
  if (!read.ok) return sendError(res, read.status, read.code, null, read.message, { connection: "close" });
  let body: unknown;
  try {
    body = JSON.parse(read.text);
  } catch {
    return refuseInvalid(
      ctx,
      res,
      "unknown",
      "body",
      "the body is not JSON; send {kind, name, version?, reason}",
    );
  }
  const checked = validateCapabilityRequest(body);
  if (!checked.ok) {
    const kind =
      typeof (body as { kind?: unknown })?.kind === "string" ? String((body as { kind: string }).kind) : "";
    return refuseInvalid(ctx, res, kind, checked.field, checked.reason);
  }
  const request = checked.request;
  const max = ctx.deps.maxPendingCapabilities ?? defaultMaxPendingCapabilities;
  let outcome: RecordCapabilityOutcome;
  try {
    outcome = await recordCapabilityRequest(ctx.deps.db, {
      runId,
      request,
      maxPending: max,
      secret: ctx.deps.tokenSecret,
    });
  } catch (error) {
    ctx.deps.logger.error(
      { runId, err: { message: (error as Error).message } },
      "capability request could not be recorded",
    );
    return sendError(
      res,
      503,
      "service_unavailable",
      null,
      "the Airlock proxy could not record the capability request in its database; retry later",
    );
  }
  ctx.metrics.capabilityRequests.inc({ kind: request.kind, outcome: outcome.kind });
  const what = formatCapability(request);
  ctx.deps.logger.info(
    {
      runId,
      capability: what,
      outcome: outcome.kind,
      ...(outcome.kind === "too_many" ? {} : { id: outcome.request.id }),
    },
    "capability request answered",
  );
  switch (outcome.kind) {
    case "too_many":
      return sendError(
        res,
        429,
        "too_many_pending",
        null,
        `this run already has ${outcome.pending} pending capability requests (at most ${outcome.max}); ${what} was not recorded. Finish your turn: the run resumes when a maintainer has decided on those, and you can ask again then`,
      );
    case "created":
    case "merged":
      return sendJson(res, 202, {
        ...describeRow(outcome.request),
        merged: outcome.kind === "merged",
        message: `${what} is requested (id ${outcome.request.id}${outcome.kind === "merged" ? ", merged with your earlier request for it" : ""}) and waits for a maintainer's decision in the pull request. It is not available now. Finish your turn: end your work for now with a short summary of where you are. The run pauses, and resumes in a new container with the decision (what was granted or denied, and why).`,
      });
    case "decided":
      return sendJson(res, 200, {
        ...describeRow(outcome.request),
        message: describeDecision(outcome.request),
      });
  }
}

/** The body of a capability request is a few short strings; 16 KiB is generous. */
const maxBodyBytes = 16 * 1024;

function describeRow(row: CapabilityRequest) {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    version: row.version,
    reason: row.reason,
    state: row.state,
    decided_by: row.decidedBy,
    decided_at: row.decidedAt?.toISOString() ?? null,
    decision_reason: row.decisionReason,
    created_at: row.createdAt.toISOString(),
  };
}

function describeDecision(row: CapabilityRequest): string {
  const what = formatCapability({ kind: row.kind, name: row.name, version: row.version ?? undefined });
  const why = row.decisionReason ? `: ${row.decisionReason}` : "";
  switch (row.state) {
    case "granted":
      return `${what} is already granted to this run (by ${row.decidedBy ?? "a maintainer"}); use it, or if it is missing from this container, the run resumes on an image that has it.`;
    case "denied":
      return `${what} was denied by ${row.decidedBy ?? "a maintainer"}${why}. Carry on without it; do not ask for it again.`;
    case "failed":
      return `${what} was approved but the image rebuild failed${why}. Carry on without it.`;
    case "timed_out":
      return `${what} was not decided in time${why}. Carry on without it.`;
    case "pending":
      return `${what} is pending.`;
  }
}

function refuseInvalid(
  ctx: ProxyContext,
  res: ServerResponse,
  kind: string,
  field: string,
  reason: string,
): void {
  ctx.metrics.capabilityRequests.inc({ kind: knownKinds.has(kind) ? kind : "unknown", outcome: "invalid" });
  sendError(res, 400, "invalid_capability", field, `capability request refused: ${field}: ${reason}`);
}

/** Metric labels only from the known kinds: an agent must not grow the label set. */
const knownKinds = new Set(["apt", "npm", "pip", "network", "llm-tool"]);

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  param: string | null,
  message: string,
  headers: Record<string, string> = {},
): void {
  const type = status === 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
  sendJson(res, status, { error: { message, type, code, param } }, headers);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}
