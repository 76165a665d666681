import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A pass-through in front of the scripted upstream that lets one conversation follow a
 * different script at each turn. The stand-in picks its script from the marker in the
 * LAST user message, which stays the task for a whole tool-calling conversation; this
 * rewrites `[[script:NAME]]` there to `[[script:NAME.<turn>]]`, where turn is the number
 * of assistant messages so far (0 for the first call). When the agent adds a user message of
 * its own (a reminder), the marker is moved to it. Everything else — path, headers,
 * status, body — passes unchanged, so the stand-in stays the strict judge of requests.
 */
export async function startTurnScriptedUpstream(
  upstreamUrl: string,
): Promise<{ url: string; turns: number[]; close(): Promise<void> }> {
  const target = new URL(upstreamUrl);
  const turns: number[] = [];
  const marker = /\[\[script:([A-Za-z0-9_-]+)\]\]/;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      try {
        const json = JSON.parse(body.toString("utf8")) as { messages?: { role: string; content: unknown }[] };
        if (Array.isArray(json.messages)) {
          const turn = json.messages.filter((m) => m.role === "assistant").length;
          const users = json.messages.filter((m) => m.role === "user" && typeof m.content === "string");
          const marked = users.findLast((m) => marker.test(m.content as string));
          const lastUser = users.at(-1);
          if (marked && lastUser) {
            turns.push(turn);
            const name = marker.exec(marked.content as string)![1]!;
            marked.content = (marked.content as string).replace(marker, "");
            lastUser.content = `${lastUser.content as string} [[script:${name}.${turn}]]`;
            body = Buffer.from(JSON.stringify(json));
          }
        }
      } catch {
        // Not JSON: forwarded as is, and the stand-in judges it.
      }
      const headers = { ...req.headers, host: target.host, "content-length": String(body.length) };
      const forward = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    turns,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
