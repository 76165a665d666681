/**
 * The attacker of stalled-upload-flood.test.ts, run as its own process so that its send
 * buffers never count in the proxy's RSS. It opens `connections` connections to a proxy
 * socket, each starting an upload of a chat completion that declares `declaredBytes` or
 * is chunked (`mode`: declared, chunked, or mixed = alternating), sends `sendBytes` of it
 * as fast as the proxy takes them, and then stalls: it never finishes a body.
 *
 * It prints one JSON line when every connection is settled (its bytes all handed to the
 * kernel, or answered, or closed), then holds its connections open until stdin closes.
 *
 * argv: socketPath token connections declaredBytes sendBytes mode
 */
import { connect, type Socket } from "node:net";

const [socketPath, token, connectionsArg, declaredArg, sendArg, mode] = process.argv.slice(2);
if (!socketPath || !token || !connectionsArg || !declaredArg || !sendArg || !mode) {
  process.stderr.write(
    "usage: stalled-upload-flooder.ts socketPath token connections declaredBytes sendBytes mode\n",
  );
  process.exit(2);
}
const connections = Number(connectionsArg);
const declaredBytes = Number(declaredArg);
const sendBytes = Number(sendArg);
const piece = Buffer.alloc(64 * 1024, "a");
const prefix = Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"');

interface Outcome {
  sent: number;
  fullySent: boolean;
  status: number | undefined;
  closed: boolean;
}

function writeAll(socket: Socket, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error("closed"));
    const onClose = () => reject(new Error("closed"));
    socket.once("close", onClose);
    socket.write(data, (error) => {
      socket.off("close", onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}

async function flood(index: number, outcome: Outcome, settled: () => void): Promise<void> {
  const chunked = mode === "chunked" || (mode === "mixed" && index % 2 === 1);
  const socket = connect(socketPath!);
  sockets.push(socket);
  let done = false;
  const settle = () => {
    if (done) return;
    done = true;
    settled();
  };
  socket.on("data", (data: Buffer) => {
    const match = /^HTTP\/1\.1 (\d{3})/.exec(data.toString("latin1", 0, 16));
    if (match && outcome.status === undefined) outcome.status = Number(match[1]);
    settle();
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    outcome.closed = true;
    settle();
  });
  const head =
    `POST /v1/chat/completions HTTP/1.1\r\nHost: airlock\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: application/json\r\n` +
    (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : `Content-Length: ${declaredBytes}\r\n\r\n`);
  try {
    await writeAll(socket, head);
    const frame = (data: Buffer) => (chunked ? [`${data.length.toString(16)}\r\n`, data, "\r\n"] : [data]);
    for (const part of frame(prefix)) await writeAll(socket, part);
    outcome.sent = prefix.length;
    while (outcome.sent < sendBytes) {
      const data = piece.subarray(0, Math.min(piece.length, sendBytes - outcome.sent));
      // Each write waits until the kernel took the previous one: this process holds one piece at a time.
      for (const part of frame(data)) await writeAll(socket, part);
      outcome.sent += data.length;
    }
    outcome.fullySent = true;
  } catch {
    // Refused or closed by the proxy: that is a settled outcome too.
  }
  settle();
}

const sockets: Socket[] = [];
const outcomes: Outcome[] = Array.from({ length: connections }, () => ({
  sent: 0,
  fullySent: false,
  status: undefined,
  closed: false,
}));
let pending = connections;
const onSettled = () => {
  pending -= 1;
  if (pending > 0) return;
  const statuses: Record<string, number> = {};
  for (const o of outcomes) {
    const key = String(o.status ?? "none");
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  process.stdout.write(
    JSON.stringify({
      fullySent: outcomes.filter((o) => o.fullySent).length,
      closed: outcomes.filter((o) => o.closed).length,
      statuses,
      sentMiB: Math.round(outcomes.reduce((s, o) => s + o.sent, 0) / 1024 / 1024),
    }) + "\n",
  );
};
for (let i = 0; i < connections; i++) void flood(i, outcomes[i]!, onSettled);
process.stdin.resume();
process.stdin.on("end", () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
