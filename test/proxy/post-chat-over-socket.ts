import { request } from "node:http";

/** One chat completion over a run's unix socket, as the agent in its sandbox sends it, asking the scripted upstream for `script`. */
export function postChatOverSocket(
  socketPath: string,
  token: string,
  script: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: "/v1/chat/completions",
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(
      JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `[[script:${script}]]` }] }),
    );
  });
}
