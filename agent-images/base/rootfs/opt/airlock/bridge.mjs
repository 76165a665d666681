// The socket bridge: 127.0.0.1:<AIRLOCK_BRIDGE_PORT> inside the sandbox -> the run's
// unix socket /run/airlock/llm.sock, mounted from the host. The container has no
// network (NetworkMode none); this loopback port is the only way out, and it leads
// only to the metered proxy. Plain Node, no dependencies: it runs before anything the
// agent installs, and nothing here can be swapped by the agent (root-owned files).
import net from "node:net";

const socketPath = process.env.AIRLOCK_BRIDGE_SOCKET || "/run/airlock/llm.sock";
const port = Number(process.env.AIRLOCK_BRIDGE_PORT || "4000");

if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(
    `airlock bridge: AIRLOCK_BRIDGE_PORT must be 1-65535, got ${process.env.AIRLOCK_BRIDGE_PORT}\n`,
  );
  process.exit(2);
}

function pipeConnection(client) {
  const upstream = net.connect(socketPath);
  // A failure on either side ends both: no half-dead pairs left holding descriptors.
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
}

// Loopback only, IPv4 only: the bridge must never answer on another address.
const server = net.createServer({ allowHalfOpen: true }, pipeConnection);
server.on("error", (error) => {
  process.stderr.write(`airlock bridge: cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
  process.exit(1);
});
server.listen({ host: "127.0.0.1", port, exclusive: true });

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
