import { createRequire, registerHooks } from "node:module";

/**
 * dockerode loads its SSH transport (ssh2) and its BuildKit session support (gRPC) at
 * require time: ~100 ms of every `airlock sandbox exec`, for code Airlock only reaches
 * with an ssh:// DOCKER_HOST or a BuildKit build, neither of which it uses today. This
 * hook hands dockerode stand-ins that load the real module on first use, so nothing is
 * lost, only deferred. node:https too: docker-modem needs it only for a TLS DOCKER_HOST
 * (which Airlock does not configure), and it brings TLS and crypto with it (~15 ms).
 * Imported for its side effect by docker-container-runtime.ts, before dockerode itself.
 * cli/bundle/bundle-cli.ts does the same in the CLI's bundle.
 */
const deferred = new Set(["ssh2", "@grpc/grpc-js", "@grpc/proto-loader", "https"]);
const scheme = "airlock-deferred:";
const owners = /[\\/]node_modules[\\/](dockerode|docker-modem)[\\/]/;
// The stand-ins load the real modules through a require anchored here, which the hook
// lets through (its parent is not inside dockerode).
const anchor = createRequire(import.meta.url).resolve("dockerode");
const realRequire = createRequire(import.meta.url);

let registered = false;

export function deferDockerodeExtras(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (deferred.has(specifier) && context.parentURL && owners.test(context.parentURL)) {
        return { url: `${scheme}${specifier}`, shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      if (!url.startsWith(scheme)) return nextLoad(url, context);
      const specifier = url.slice(scheme.length);
      return { format: "commonjs", source: standInSource(specifier), shortCircuit: true };
    },
  });
  // Make the real loader reachable from the stand-in's source.
  (globalThis as Record<string, unknown>)[loaderKey] = (specifier: string) =>
    realRequire(realRequire.resolve(specifier, { paths: [anchor] }));
}

const loaderKey = Symbol.for("airlock.deferredRequire") as unknown as string;

function standInSource(specifier: string): string {
  const load = `(real ??= globalThis[Symbol.for("airlock.deferredRequire")](${JSON.stringify(specifier)}))`;
  if (specifier === "ssh2") {
    // docker-modem reads `.Client` at load time and calls `new Client()` only for ssh://.
    return `let real; module.exports = { Client: function Client(...args) { return new ${load}.Client(...args); } };`;
  }
  return `let real; module.exports = new Proxy({}, { get(_t, key) { return ${load}[key]; }, has(_t, key) { return key in ${load}; } });`;
}

deferDockerodeExtras();
