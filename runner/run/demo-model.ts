import { randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The model id the demo answers to; the price table has no entry for it, so it is metered and shown as unpriced. */
export const demoModelId = "airlock-demo";

export interface DemoModel {
  /** OpenAI-style base URL (ends in /v1): the proxy's upstream for this run. */
  baseUrl: string;
  /** The key the proxy must present; random per start, never seen by the agent. */
  apiKey: string;
  close(): Promise<void>;
}

interface ChatMessage {
  role: string;
  content?: unknown;
}

const maxBodyBytes = 4 * 1024 * 1024;

/**
 * A scripted, OpenAI-compatible chat model on a loopback port, for `airlock run` with no
 * LLM configured. It is not a model: it drives the builtin agent through a fixed session
 * (list the files, write AIRLOCK_DEMO.md quoting the task, finish) so an operator can see
 * a whole run — sandbox, proxy, metering, relay, ledger — before configuring a provider.
 * The turn is the number of assistant messages in the request; usage is derived from the
 * request and answer sizes, so the proxy meters real numbers.
 */
export async function startDemoModel(): Promise<DemoModel> {
  const apiKey = `demo-${randomBytes(16).toString("hex")}`;
  let sequence = 0;
  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => answer(req, res, body, apiKey, ++sequence),
      () => sendError(res, 413, "request body too large"),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.destroy();
        reject(new Error("too large"));
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendError(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { message, type: "invalid_request_error", code: null } }));
}

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, apiKey: string, n: number): void {
  const given = Buffer.from(req.headers.authorization ?? "");
  const expected = Buffer.from(`Bearer ${apiKey}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    sendError(res, 401, "the demo model only answers Airlock's proxy");
    return;
  }
  if (req.method === "GET" && req.url === "/v1/models") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ object: "list", data: [{ id: demoModelId, object: "model", owned_by: "airlock" }] }),
    );
    return;
  }
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    sendError(res, 404, `the demo model serves POST /v1/chat/completions, not ${req.method} ${req.url}`);
    return;
  }
  let request: { model?: unknown; messages?: unknown; stream?: unknown };
  try {
    request = JSON.parse(body.toString("utf8")) as typeof request;
  } catch {
    sendError(res, 400, "the request body is not JSON");
    return;
  }
  if (!Array.isArray(request.messages)) {
    sendError(res, 400, "messages must be an array");
    return;
  }
  if (request.stream === true) {
    sendError(res, 400, "the demo model does not stream; the builtin agent does not ask it to");
    return;
  }
  const messages = request.messages as ChatMessage[];
  const turn = messages.filter((m) => m.role === "assistant").length;
  const task = messages.find((m) => m.role === "user" && typeof m.content === "string")?.content as
    string | undefined;
  const call = scriptedCall(turn, task ?? "");
  const message =
    call === undefined
      ? { role: "assistant", content: "The demo session is over.", refusal: null }
      : {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: `call_demo_${turn}`,
              type: "function",
              function: { name: call.name, arguments: JSON.stringify(call.arguments) },
            },
          ],
        };
  const promptTokens = Math.ceil(body.length / 4);
  const completionTokens = Math.ceil(JSON.stringify(message).length / 4);
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id: `chatcmpl-demo-${n}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: typeof request.model === "string" ? request.model : demoModelId,
      choices: [
        { index: 0, message, finish_reason: call === undefined ? "stop" : "tool_calls", logprobs: null },
      ],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    }),
  );
}

function scriptedCall(
  turn: number,
  task: string,
): { name: string; arguments: Record<string, unknown> } | undefined {
  switch (turn) {
    case 0:
      return { name: "list_files", arguments: { path: ".", depth: 1 } };
    case 1:
      return {
        name: "write_file",
        arguments: {
          path: "AIRLOCK_DEMO.md",
          content:
            "# Airlock demo run\n\n" +
            "This file was written by Airlock's builtin agent, driven by Airlock's **scripted demo model**\n" +
            "(no LLM was configured). The agent ran sealed in a sandbox; every model call went through\n" +
            "Airlock's metered proxy and is in the audit ledger.\n\n" +
            "The task it was given (quoted, not acted on):\n\n" +
            quote(extractPrompt(task)) +
            "\n\nConfigure a real model with OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama or vLLM).\n",
        },
      };
    case 2:
      return {
        name: "finish",
        arguments: {
          summary:
            "Demo run with Airlock's scripted demo model: listed the workspace and wrote AIRLOCK_DEMO.md " +
            "quoting the task. No real model was used.",
        },
      };
    default:
      return undefined;
  }
}

/** The prompt between the task file's untrusted-input markers, or the whole text. */
function extractPrompt(task: string): string {
  const match = /-----BEGIN UNTRUSTED INPUT-----\n([\s\S]*?)\n-----END UNTRUSTED INPUT-----/.exec(task);
  return (match?.[1] ?? task).trim().slice(0, 2000);
}

function quote(text: string): string {
  return text
    .split("\n")
    .map((line) => `> ${line}`.trimEnd())
    .join("\n");
}
