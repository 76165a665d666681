import { postOverSocket } from "../helpers/post-over-socket.ts";

/** One chat completion over a run's unix socket, as the agent in its sandbox sends it, asking the scripted upstream for `script`. */
export function postChatOverSocket(
  socketPath: string,
  token: string,
  script: string,
): Promise<{ status: number; body: string }> {
  return postOverSocket(
    socketPath,
    "/v1/chat/completions",
    token,
    JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: `[[script:${script}]]` }] }),
  );
}
