import { ToolError } from "./tool-error.ts";

const kinds = ["apt", "npm", "pip", "network", "llm-tool"] as const;

/**
 * Ask the host for a package, hosted tool or domain (DESIGN §6) through the bridge:
 * `POST /airlock/v1/capabilities {kind, name, version?, reason}`. The host answers 202
 * `{id, state: "pending", message}`, 200 `{id, state, message}` when already decided, or
 * `{error: {message}}` (400 invalid, 429 too many pending); its message is what the model
 * reads, so the host decides what the agent does next (finish its turn while a request is
 * pending). A host that does not serve capabilities (404, no answer) never stops a run:
 * the model is told to carry on without it.
 */
export async function requestCapability(
  bridgeUrl: string,
  token: string,
  args: { kind?: unknown; name?: unknown; version?: unknown; reason?: unknown },
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  const kind = args.kind;
  if (typeof kind !== "string" || !(kinds as readonly string[]).includes(kind)) {
    throw new ToolError(`kind must be one of ${kinds.join(", ")}`);
  }
  if (typeof args.name !== "string" || !/^[A-Za-z0-9@][A-Za-z0-9._/@+:-]{0,213}$/.test(args.name)) {
    throw new ToolError("name must be a package name or a domain (letters, digits, . _ - / @ + :)");
  }
  if (args.version !== undefined && (typeof args.version !== "string" || args.version.length > 100)) {
    throw new ToolError("version, when given, must be a short string such as 1.2.3");
  }
  if (typeof args.reason !== "string" || args.reason.trim() === "" || args.reason.length > 2000) {
    throw new ToolError("reason must say, in under 2000 characters, why the task needs this");
  }
  const body = {
    kind,
    name: args.name,
    ...(args.version !== undefined ? { version: args.version } : {}),
    reason: args.reason,
  };
  const separator = kind === "pip" ? "==" : "@";
  const what = `${kind}:${args.name}${args.version ? `${separator}${String(args.version)}` : ""}`;
  let response: Response;
  try {
    response = await fetchImpl(new URL("/airlock/v1/capabilities", bridgeUrl), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    return `capability request for ${what} could not be sent (the host did not answer); it is unavailable for now. Carry on without it and mention it in your summary.`;
  }
  const text = (await response.text().catch(() => "")).slice(0, 4000);
  const answer = readAnswer(text);
  if (response.ok && answer.message) {
    const state = answer.state
      ? ` (${answer.state}${answer.id !== undefined ? `, id ${answer.id}` : ""})`
      : "";
    return `capability request for ${what}${state}: ${answer.message}`;
  }
  if (!response.ok && answer.error && response.status !== 404) {
    return `capability request for ${what} was refused by the host (${response.status}): ${answer.error}`;
  }
  if (!response.ok) {
    return `capability request for ${what} is pending or unavailable (host answered ${response.status}). It is not installed now: carry on without it, and say in your summary what it would have enabled.`;
  }
  return `capability request for ${what} recorded by the host: ${text.slice(0, 2000) || "(no details)"}. Until a maintainer approves it and the run resumes on a new image, it is not available; carry on without it.`;
}

/** The host's answer, read loosely: the model gets its message, never a parse failure. */
function readAnswer(text: string): { message?: string; error?: string; state?: string; id?: unknown } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof json !== "object" || json === null) return {};
  const record = json as { message?: unknown; state?: unknown; id?: unknown; error?: { message?: unknown } };
  return {
    ...(typeof record.message === "string" ? { message: record.message.slice(0, 2000) } : {}),
    ...(typeof record.error?.message === "string" ? { error: record.error.message.slice(0, 2000) } : {}),
    ...(typeof record.state === "string" ? { state: record.state.slice(0, 20) } : {}),
    ...(record.id !== undefined ? { id: record.id } : {}),
  };
}
