export type AirlockCommand =
  | { kind: "run"; agent?: string; instructions: string }
  | { kind: "stop" }
  | { kind: "retry" }
  | { kind: "help" }
  | { kind: "feedback"; instructions: string };

const AGENT_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
// Up to three spaces is still a paragraph in Markdown; four or a tab is an indented code
// block, and a quote (`> /airlock run`) is someone quoting a command, not giving one.
const COMMAND_LINE = /^ {0,3}\/airlock(?:[ \t]+(.*))?$/;

/**
 * The command in a comment, if its first non-empty line is one. Only that line counts, so
 * a command quoted, fenced or mentioned further down the comment never starts a run.
 * `instructions` is the comment's own text: clean it (cleanUntrustedText) before use.
 */
export function parseAirlockCommand(
  body: string,
  opts: { agentIds: readonly string[] },
): AirlockCommand | undefined {
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  const first = lines.findIndex((line) => line.trim() !== "");
  const match = first === -1 ? null : COMMAND_LINE.exec(lines[first] ?? "");
  if (match === null) return undefined;
  const rest = (match[1] ?? "").trim();
  const following = lines
    .slice(first + 1)
    .join("\n")
    .trim();
  if (rest === "help" || (rest === "" && following === "")) return { kind: "help" };
  // Only the lone word is the command: `/airlock stop using globals` on a pull request is feedback.
  if (rest === "stop") return { kind: "stop" };
  if (rest === "retry") return { kind: "retry" };
  const [word, afterWord] = splitFirstWord(rest);
  if (word !== "run") return { kind: "feedback", instructions: joinText(rest, following) };
  const [candidate, afterAgent] = splitFirstWord(afterWord);
  if (AGENT_ID.test(candidate) && opts.agentIds.includes(candidate)) {
    return { kind: "run", agent: candidate, instructions: joinText(afterAgent, following) };
  }
  return { kind: "run", instructions: joinText(afterWord, following) };
}

function splitFirstWord(text: string): [string, string] {
  const match = /^(\S*)[ \t]*(.*)$/.exec(text);
  return [match?.[1] ?? "", match?.[2] ?? ""];
}

function joinText(line: string, following: string): string {
  return [line.trim(), following].filter((part) => part !== "").join("\n");
}
