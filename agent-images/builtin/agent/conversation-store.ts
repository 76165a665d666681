import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";

/** What the agent keeps between containers of one run (issue 10 §6): its conversation. */
export interface SavedConversation {
  version: 1;
  messages: ChatCompletionMessageParam[];
  changedFiles: string[];
  steps: number;
}

/**
 * The conversation saved in the run's state folder (AIRLOCK_STATE_DIR, kept by the host
 * when the run pauses for a capability decision). Written after every step by write and
 * rename, so a container killed mid-write leaves the previous step's file, never half a file.
 */
export function conversationPath(stateDir: string): string {
  return join(stateDir, "builtin", "conversation.json");
}

export async function saveConversation(path: string, saved: SavedConversation): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  await writeFile(temporary, JSON.stringify(saved));
  await rename(temporary, path);
}

/** The saved conversation, or undefined when there is none (a first segment) or it cannot be read. */
export async function loadConversation(path: string): Promise<SavedConversation | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const parsed = JSON.parse(text) as Partial<SavedConversation>;
  if (parsed.version !== 1 || !Array.isArray(parsed.messages)) return undefined;
  return {
    version: 1,
    messages: parsed.messages,
    changedFiles: Array.isArray(parsed.changedFiles)
      ? parsed.changedFiles.filter((f) => typeof f === "string")
      : [],
    steps: typeof parsed.steps === "number" ? parsed.steps : 0,
  };
}

/** The host's resume note (`$AIRLOCK_STATE_DIR/resume.json`): the message to continue with. */
export async function readResumeMessage(stateDir: string): Promise<string | undefined> {
  try {
    const note = JSON.parse(await readFile(join(stateDir, "resume.json"), "utf8")) as { message?: unknown };
    return typeof note.message === "string" ? note.message : undefined;
  } catch {
    return undefined;
  }
}
