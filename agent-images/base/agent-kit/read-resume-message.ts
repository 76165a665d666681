import { readFile } from "node:fs/promises";

/**
 * The message a resumed run continues its session with: `message` of the runner's
 * resume.json (what was granted or denied, and why), with each decision listed under it
 * so the model sees them even if the runner's text is short.
 */
export async function readResumeMessage(path: string): Promise<string> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`cannot read the resume file ${path}: ${(error as Error).message}`, { cause: error });
  }
  const record = (typeof json === "object" && json !== null ? json : {}) as {
    message?: unknown;
    decisions?: unknown;
  };
  if (typeof record.message !== "string" || record.message.trim() === "") {
    throw new Error(`the resume file ${path} has no "message"`);
  }
  const decisions = Array.isArray(record.decisions) ? record.decisions : [];
  const lines = decisions.flatMap((d: unknown) => {
    if (typeof d !== "object" || d === null) return [];
    const { kind, name, version, state, by, reason } = d as Record<string, unknown>;
    const what = `${String(kind)}:${String(name)}${typeof version === "string" && version ? `@${version}` : ""}`;
    return [
      `- ${what}: ${String(state)}${typeof by === "string" ? ` by ${by}` : ""}${typeof reason === "string" && reason ? ` (${reason})` : ""}`,
    ];
  });
  return lines.length > 0
    ? `${record.message.trim()}\n\nDecisions:\n${lines.join("\n")}`
    : record.message.trim();
}
