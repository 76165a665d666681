// Escape suite, network (issue 2): the sandbox runs with NetworkMode "none", so its only
// door is the proxy socket. Every attempt here targets this host's own listeners (its
// addresses, the docker0 gateway) or the cloud metadata address, and must fail inside the
// container, before any packet leaves it.
import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, connect, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { Writable } from "node:stream";
import { after, before, describe } from "node:test";
import { escapeCase } from "./helpers/escape-case.ts";
import { createEscapeHarness, type EscapeHarness } from "./helpers/escape-harness.ts";
import { waitUntil } from "../helpers/wait-until.ts";

const probe = "/workspace/probes/net-probe";
const metadataAddress = "169.254.169.254";
/** Errors that mean "no route out of this namespace" (not "refused" or "timed out": those imply a route). */
const noRoute = ["ENETUNREACH", "EADDRNOTAVAIL", "EHOSTUNREACH"];

function hostAddresses(family: "IPv4" | "IPv6"): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === family && !a.internal && !a.address.startsWith("fe80"))
    .map((a) => a!.address);
}

describe("escape: network", { concurrency: 2 }, () => {
  let harness: EscapeHarness;
  let tcpServer: Server;
  let udpSocket: UdpSocket;
  let port = 0;
  let tcpConnections = 0;
  let udpDatagrams = 0;
  const h = () => harness;

  before(async () => {
    harness = await createEscapeHarness(["net-probe"]);
    // A real listener on every host address: if any probe reached the host, it would count here.
    tcpServer = createServer((socket) => {
      tcpConnections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => tcpServer.listen(0, "::", resolve));
    port = (tcpServer.address() as { port: number }).port;
    udpSocket = createSocket({ type: "udp6" });
    udpSocket.on("message", () => {
      udpDatagrams += 1;
    });
    await new Promise<void>((resolve) => udpSocket.bind(port, "::", resolve));
    // Control: the listener is reachable from the host itself, so "unreachable" below means the sandbox.
    const first = hostAddresses("IPv4")[0];
    assert.ok(first, "this host has a non-loopback IPv4 address");
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, first, () => {
        socket.destroy();
        resolve();
      });
      socket.on("error", reject);
    });
    await waitUntil("the control connection to reach the host's listener", () => tcpConnections === 1);
    tcpConnections = 0;
  });

  after(async () => {
    tcpServer.close();
    udpSocket.close();
    await harness.close();
  });

  escapeCase(h, "network", "list network interfaces", "only lo", async ({ sandbox, observe }) => {
    const { result, stdout } = await sandbox.run([
      "sh",
      "-c",
      "ls /sys/class/net; echo ---; cat /proc/net/dev",
    ]);
    assert.equal(result.exitCode, 0);
    const [sysfs = "", procfs = ""] = stdout.split("---");
    const sysNames = sysfs.split(/\s+/).filter(Boolean);
    const procNames = [...procfs.matchAll(/^\s*([^\s:|]+):/gm)].map((m) => m[1]);
    observe(`/sys/class/net: ${sysNames.join(",")}; /proc/net/dev: ${procNames.join(",")}`);
    assert.deepEqual(sysNames, ["lo"]);
    assert.deepEqual(procNames, ["lo"]);
  });

  for (const address of hostAddresses("IPv4")) {
    escapeCase(
      h,
      "network",
      `TCP to host ${address}:<listener>`,
      "no route",
      async ({ sandbox, observe }) => {
        const { result, stdout } = await sandbox.run([probe, "tcp4", address, String(port)]);
        observe(stdout.trim());
        assert.equal(result.exitCode, 3, stdout);
        assertNoRoute(stdout);
        assert.equal(tcpConnections, 0, "the host listener saw a connection");
      },
    );
    escapeCase(
      h,
      "network",
      `UDP to host ${address}:<listener>`,
      "no route",
      async ({ sandbox, observe }) => {
        const { result, stdout } = await sandbox.run([probe, "udp4", address, String(port)]);
        observe(stdout.trim());
        assert.equal(result.exitCode, 3, stdout);
        assertNoRoute(stdout);
        assert.equal(udpDatagrams, 0, "the host socket received a datagram");
      },
    );
  }

  for (const address of hostAddresses("IPv6")) {
    escapeCase(
      h,
      "network",
      `IPv6 TCP and UDP to host [${address}]`,
      "no route",
      async ({ sandbox, observe }) => {
        for (const mode of ["tcp6", "udp6"]) {
          const { result, stdout } = await sandbox.run([probe, mode, address, String(port)]);
          observe(`${mode}: ${stdout.trim()}`);
          assert.equal(result.exitCode, 3, stdout);
          assertNoRoute(stdout);
        }
        assert.equal(tcpConnections + udpDatagrams, 0, "the host listener saw traffic");
      },
    );
  }

  escapeCase(
    h,
    "network",
    "IPv6 TCP to the IPv4-mapped host address",
    "no route",
    async ({ sandbox, observe }) => {
      const address = `::ffff:${hostAddresses("IPv4")[0]}`;
      const { result, stdout } = await sandbox.run([probe, "tcp6", address, String(port)]);
      observe(stdout.trim());
      assert.equal(result.exitCode, 3, stdout);
      assertNoRoute(stdout);
    },
  );

  escapeCase(
    h,
    "network",
    "TCP to the docker0 gateway 172.17.0.1:<listener>",
    "no route",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run([probe, "tcp4", "172.17.0.1", String(port)]);
      observe(stdout.trim());
      assert.equal(result.exitCode, 3, stdout);
      assertNoRoute(stdout);
      assert.equal(tcpConnections, 0);
    },
  );

  escapeCase(
    h,
    "network",
    `cloud metadata ${metadataAddress}:80 (TCP)`,
    "no route",
    async ({ sandbox, observe }) => {
      const { result, stdout } = await sandbox.run([probe, "tcp4", metadataAddress, "80"]);
      observe(stdout.trim());
      assert.equal(result.exitCode, 3, stdout);
      assertNoRoute(stdout);
    },
  );

  escapeCase(h, "network", "ICMP echo (raw and datagram sockets)", "denied", async ({ sandbox, observe }) => {
    const gateway = "172.17.0.1";
    const raw = await sandbox.run([probe, "icmp-raw", gateway]);
    observe(`raw: ${raw.stdout.trim()}`);
    assert.equal(raw.result.exitCode, 3, raw.stdout);
    // A raw socket needs CAP_NET_RAW, which is dropped.
    assert.match(raw.stdout, /^socket errno=EPERM$/m);
    const dgram = await sandbox.run([probe, "icmp-dgram", gateway]);
    observe(`dgram: ${dgram.stdout.trim()}`);
    assert.equal(dgram.result.exitCode, 3, dgram.stdout);
    // Unprivileged ping sockets are either off (ping_group_range) or have nowhere to go.
    assert.match(dgram.stdout, /^(socket errno=(EACCES|EPERM)|sendto errno=(ENETUNREACH|EADDRNOTAVAIL))$/m);
  });

  escapeCase(h, "network", "DNS lookup of a public name", "fails", async ({ sandbox, observe }) => {
    // Control first: getent and NSS work (exit 0 for a user), so a failure below is the lookup itself.
    const local = await sandbox.run(["getent", "passwd", "root"]);
    assert.equal(local.result.exitCode, 0, `getent passwd root: ${local.stderr}`);
    const { result, stdout, stderr } = await sandbox.run(["getent", "ahosts", "example.com"]);
    observe(`getent ahosts example.com → exit ${String(result.exitCode)}`);
    // getent: 2 = key not found (lookup failed).
    assert.equal(result.exitCode, 2, `${stdout}${stderr}`);
    assert.equal(stdout.trim(), "");
  });

  escapeCase(
    h,
    "network",
    "reach a listener in another sandbox",
    "unreachable",
    async ({ sandbox, observe }) => {
      let listening!: () => void;
      const isListening = new Promise<void>((resolve) => (listening = resolve));
      let listenerOutput = "";
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          listenerOutput += chunk.toString();
          if (listenerOutput.includes("listening")) listening();
          callback();
        },
      });
      const listenerRun = sandbox.run([probe, "listen4", "8080", "6"], { stdout: sink });
      await Promise.race([
        isListening,
        listenerRun.then(() => assert.fail(`listener ended early: ${listenerOutput}`)),
      ]);
      const listenerRunId = sandbox.runIds[0]!;
      const [listener] = await h().runtime.listContainers({ "airlock.run-id": listenerRunId });
      assert.ok(listener, "the listening sandbox is running");
      const raw = (await h().runtime.inspectContainer(listener.id)).raw as {
        HostConfig: { NetworkMode: string };
        NetworkSettings: { IPAddress: string; Networks: Record<string, { IPAddress: string }> | null };
      };
      const networks = raw.NetworkSettings.Networks ?? {};
      const addresses = [raw.NetworkSettings.IPAddress, ...Object.values(networks).map((n) => n.IPAddress)];
      observe(
        `listener: NetworkMode ${raw.HostConfig.NetworkMode}, networks [${Object.keys(networks).join(",")}]`,
      );
      assert.equal(raw.HostConfig.NetworkMode, "none");
      assert.deepEqual(
        Object.keys(networks).filter((name) => name !== "none"),
        [],
      );
      assert.deepEqual(
        addresses.filter(Boolean),
        [],
        "the listening sandbox has an address others could reach",
      );
      // The other sandbox's loopback is its own: the same port there is closed.
      const attacker = await sandbox.run([probe, "tcp4", "127.0.0.1", "8080"]);
      observe(`from a second sandbox to 127.0.0.1:8080: ${attacker.stdout.trim()}`);
      assert.match(attacker.stdout, /^connect errno=ECONNREFUSED$/m);
      const listenerResult = await listenerRun;
      assert.equal(listenerResult.result.exitCode, 3);
      assert.match(listenerOutput, /no connection/);
    },
  );
});

function assertNoRoute(stdout: string): void {
  const errno = /errno=(\w+)/.exec(stdout)?.[1];
  assert.ok(
    errno !== undefined && noRoute.includes(errno),
    `expected one of ${noRoute.join("/")}, got: ${stdout}`,
  );
}
