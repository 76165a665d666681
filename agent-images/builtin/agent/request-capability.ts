import { ToolError } from "./tool-error.ts";

const kinds = ["apt", "npm", "pip", "network"] as const;

/**
 * Ask the host for a package, tool or domain (DESIGN §6) through the bridge. Any answer
 * but 2xx means "not now": the model is told to carry on without it, so a proxy that does
 * not serve capabilities yet never stops a run.
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
  const what = `${kind}:${args.name}${args.version ? `@${String(args.version)}` : ""}`;
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
  const text = (await response.text().catch(() => "")).slice(0, 2000);
  if (!response.ok) {
    return `capability request for ${what} is pending or unavailable (host answered ${response.status}). It is not installed now: carry on without it, and say in your summary what it would have enabled.`;
  }
  return `capability request for ${what} recorded by the host: ${text || "(no details)"}. Until a maintainer approves it and the run resumes on a new image, it is not available; carry on without it.`;
}
