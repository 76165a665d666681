import http from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";

/**
 * A pass-through in front of the scripted upstream that lets one conversation follow a
 * different script at each turn. The stand-in picks its script from the marker in the
 * LAST user message, which stays the task for a whole tool-calling conversation; this
 * rewrites `[[script:NAME]]` there to `[[script:NAME.<turn>]]`, where turn is the number
 * of assistant messages so far (0 for the first call). When the agent adds a user message of
 * its own (a reminder), the marker is moved to it. Everything else — path, headers,
 * status, body — passes unchanged, so the stand-in stays the strict judge of requests.
 */
export async function startTurnScriptedUpstream(upstreamUrl: string): Promise<{
  url: string;
  turns: number[];
  /** Client connections open now: lets a test wait until a hang-up has been seen. */
  openConnections(): Promise<number>;
  close(): Promise<void>;
}> {
  const target = new URL(upstreamUrl);
  const turns: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      try {
        const json = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
        const turn = markTurn(json);
        if (turn !== undefined) {
          turns.push(turn);
          body = Buffer.from(JSON.stringify(json));
        }
      } catch {
        // Not JSON: forwarded as is, and the stand-in judges it.
      }
      const headers = { ...req.headers, host: target.host, "content-length": String(body.length) };
      const forward = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (upstream) => {
          // The client hung up before the answer started (its runner was killed, say).
          if (res.destroyed) {
            upstream.destroy();
            return;
          }
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          res.flushHeaders();
          // pipeline, not pipe: a stream the stand-in cuts mid-way (reset-mid-stream) must reach
          // the client as a cut, not as a response that never ends; a client that hangs up
          // stops the upstream's answer too.
          pipeline(upstream, res, () => {});
        },
      );
      forward.on("error", () => res.destroy());
      res.on("close", () => {
        if (!res.writableFinished) forward.destroy();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    turns,
    openConnections: () =>
      new Promise<number>((resolve, reject) =>
        server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const marker = /\[\[script:([A-Za-z0-9_-]+)\]\]/;

interface Item {
  role?: unknown;
  type?: unknown;
  content?: unknown;
}

/**
 * Rewrites the marker of one request in place; returns its turn, or undefined when the
 * request carries no marker. Chat and Anthropic `messages`: the turn is the number of
 * assistant messages. Responses `input` (Codex): the number of model outputs so far, i.e.
 * function and custom tool calls plus assistant messages. Content may be a string or an
 * array of parts (Claude Code and Codex send parts); the marker goes on as a text part of
 * the last user message, where the stand-in reads it.
 */
function markTurn(json: Record<string, unknown>): number | undefined {
  const responses = !Array.isArray(json.messages) && Array.isArray(json.input);
  const items = (responses ? json.input : json.messages) as Item[] | undefined;
  if (!Array.isArray(items)) return undefined;
  const users = items.filter((m) => m.role === "user");
  const marked = users.findLast((m) => marker.test(textOf(m.content)));
  const lastUser = users.at(-1);
  if (!marked || !lastUser) return undefined;
  const turn = responses
    ? items.filter(
        (m) =>
          m.type === "function_call" ||
          m.type === "custom_tool_call" ||
          (m.role === "assistant" && m.type !== "reasoning"),
      ).length
    : items.filter((m) => m.role === "assistant").length;
  const name = marker.exec(textOf(marked.content))![1]!;
  marked.content = replaceText(marked.content, (text) => text.replace(marker, ""));
  const tag = ` [[script:${name}.${turn}]]`;
  if (typeof lastUser.content === "string") lastUser.content = `${lastUser.content}${tag}`;
  else if (Array.isArray(lastUser.content))
    lastUser.content = [
      ...(lastUser.content as unknown[]),
      { type: responses ? "input_text" : "text", text: tag },
    ];
  return turn;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) =>
      typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string"
        ? (part as { text: string }).text
        : "",
    )
    .join("");
}

function replaceText(content: unknown, change: (text: string) => string): unknown {
  if (typeof content === "string") return change(content);
  if (!Array.isArray(content)) return content;
  return content.map((part: unknown) =>
    typeof part === "object" && part !== null && typeof (part as { text?: unknown }).text === "string"
      ? { ...part, text: change((part as { text: string }).text) }
      : part,
  );
}
