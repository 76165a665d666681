import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

/**
 * Answer on a socket that has no HTTP response object (a CONNECT, an upgrade, a parse
 * error, a connection past the bound) and end it. Whatever the client still sends is
 * read and dropped so that it sees the answer instead of a reset, and the socket is
 * destroyed if the client does not hang up within `lingerMs`.
 */
export function writeRawResponse(socket: Socket, status: number, body: string, lingerMs = 5_000): void {
  socket.on("error", () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const bytes = Buffer.from(body, "utf8");
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Refused"}\r\n` +
    "content-type: text/plain; charset=utf-8\r\n" +
    `content-length: ${bytes.length}\r\n` +
    "connection: close\r\n\r\n";
  socket.end(Buffer.concat([Buffer.from(head, "latin1"), bytes]));
  socket.resume();
  socket.setTimeout(lingerMs, () => socket.destroy());
}
