import { createHash } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";

export interface RunSlot {
  /** Which of the slots this process holds (0-based). */
  slot: number;
  /** Frees the slot; a waiting process takes it. Also freed by the kernel if this process dies. */
  release(): Promise<void>;
}

export interface AcquireRunSlotOptions {
  /** Processes that pass the same key share the slots (`airlock run`: its data folder's real path). */
  key: string;
  /** How many may hold a slot at once. */
  slots: number;
  /** Gives up waiting (the error is the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Called once, when every slot is taken, with the pids of the processes holding them. */
  onWait?: ((holders: number[]) => void) | undefined;
  /** A safety net: look again this often even when no holder was seen to leave (default 2 s). */
  recheckMs?: number;
}

/**
 * A semaphore across processes on one host (issue 15: 16 `airlock run`s at once must not be
 * slower than one after another). Slot i is a Linux abstract Unix socket named after the key:
 * the process that listens on it holds the slot. The kernel frees the name when the holder
 * exits, however it exits, so a crashed run never leaves a stale lock behind (a lock file
 * would, and telling a stale one from a live one races). A waiter connects to every holder,
 * learns its pid (each holder answers with it) and tries again as soon as one connection
 * closes: the holder released or died. Waiters are not served in order of arrival.
 */
export async function acquireRunSlot(options: AcquireRunSlotOptions): Promise<RunSlot> {
  const slots = Math.max(1, Math.floor(options.slots));
  const prefix = `\0airlock-run-slot-${createHash("sha256").update(options.key).digest("hex").slice(0, 24)}`;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    for (let slot = 0; slot < slots; slot++) {
      const held = await tryHold(`${prefix}-${slot}`);
      if (held !== undefined) return { slot, release: held };
    }
    const holders = await Promise.all(
      Array.from({ length: slots }, (_, slot) => watchHolder(`${prefix}-${slot}`)),
    );
    try {
      if (!told) {
        told = true;
        options.onWait?.(holders.flatMap((h) => (h.pid === undefined ? [] : [h.pid])));
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.recheckMs ?? 2000);
        const done = () => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          clearTimeout(timer);
          reject(options.signal?.reason as Error);
        };
        options.signal?.addEventListener("abort", onAbort, { once: true });
        for (const h of holders) void h.closed.then(done);
      });
    } finally {
      for (const h of holders) h.socket?.destroy();
    }
  }
}

/** Listens on the slot's name; undefined when another process holds it. */
async function tryHold(name: string): Promise<(() => Promise<void>) | undefined> {
  const peers = new Set<Socket>();
  const server: Server = createServer((peer) => {
    peers.add(peer);
    peer.on("close", () => peers.delete(peer));
    peer.on("error", () => {});
    // Kept open: its close is what tells the waiter the slot is free.
    peer.unref();
    peer.write(`${process.pid}\n`);
  });
  const listening = await new Promise<boolean>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" ? resolve(false) : reject(error),
    );
    server.listen(name, () => resolve(true));
  });
  if (!listening) return undefined;
  // Held by a run for its whole life: the slot must not keep the process alive on its own.
  server.unref();
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const peer of peers) peer.destroy();
    });
}

/**
 * Connects to a slot's holder: its pid (when it answers in time) and a promise that settles
 * when the holder is gone. A slot freed meanwhile settles at once.
 */
async function watchHolder(name: string): Promise<{ pid?: number; socket?: Socket; closed: Promise<void> }> {
  const socket = connect(name);
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const pid = await new Promise<number | undefined>((resolve) => {
    let text = "";
    const timer = setTimeout(() => resolve(undefined), 500);
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const match = /^(\d+)\n/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    void closed.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  return { pid, socket, closed };
}
