// The socket bridge: loopback ports inside the sandbox -> the run's unix sockets in
// /run/airlock, mounted from the host. The entrypoint passes one `<port>=<socket>` route
// per socket the runner provides: 127.0.0.1:4000 -> llm.sock (the metered LLM proxy) and
// 127.0.0.1:4001 -> egress.sock (the egress proxy, which only reaches granted domains).
// The container has no network (NetworkMode none); these loopback ports are the only
// way out. Plain Node, no dependencies: it runs before anything the agent installs, and
// nothing here can be swapped by the agent (root-owned files).
import net from "node:net";

function fail(message) {
  process.stderr.write(`airlock bridge: ${message}\n`);
  process.exit(2);
}

const routes = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf("=");
  const port = Number(arg.slice(0, eq));
  const socketPath = arg.slice(eq + 1);
  if (eq <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    fail(`a route must be <port 1-65535>=<socket path>, got "${arg}"`);
  }
  if (!socketPath.startsWith("/"))
    fail(`the socket of port ${port} must be an absolute path, got "${socketPath}"`);
  return { port, socketPath };
});
if (routes.length === 0) fail("no route given (<port>=<socket path>)");
if (new Set(routes.map((r) => r.port)).size !== routes.length) fail("two routes name the same port");

function pipeConnection(client, socketPath) {
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

const servers = routes.map(({ port, socketPath }) => {
  // Loopback only, IPv4 only: the bridge must never answer on another address.
  const server = net.createServer({ allowHalfOpen: true }, (client) => pipeConnection(client, socketPath));
  server.on("error", (error) => {
    process.stderr.write(`airlock bridge: cannot listen on 127.0.0.1:${port}: ${error.message}\n`);
    process.exit(1);
  });
  server.listen({ host: "127.0.0.1", port, exclusive: true });
  return server;
});

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(signal, () => {
    for (const server of servers) server.close();
    process.exit(0);
  });
}
