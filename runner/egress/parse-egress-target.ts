import { isIP } from "node:net";

/** Where a request wants to go: a DNS name (lowercase, no trailing dot) and a port. */
export interface EgressTarget {
  host: string;
  port: number;
}

export type ParsedEgressTarget =
  { ok: true; target: EgressTarget } | { ok: false; status: 400 | 403; reason: string; host?: string };

/** Longer than any DNS name (253) plus a port; longer input is refused before it is read. */
const maxAuthorityLength = 300;
const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** A top-level label starts with a letter, so numeric IPv4 spellings (`2130706433`, `0x7f.1`, `127.1`) are never names. */
const topLabel = /^[a-z][a-z0-9-]{0,62}(?<!-)$/;

/**
 * Read the target of `CONNECT host:port` (authority form). Only a DNS name is accepted:
 * an IP literal would skip the grant (grants are names) and host-side resolution, and
 * userinfo, paths or a missing port are not an authority at all.
 */
export function parseConnectTarget(authority: string): ParsedEgressTarget {
  if (authority.length > maxAuthorityLength) return bad("the target is longer than any DNS name");
  if (/[@/?#\\\s%]/.test(authority)) {
    return bad(
      `CONNECT takes host:port only (no userinfo, path, escapes or spaces), got "${shown(authority)}"`,
    );
  }
  if (authority.startsWith("[")) return ipLiteral(authority);
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return bad(`CONNECT needs host:port, got "${shown(authority)}"`);
  const port = parsePort(authority.slice(colon + 1));
  if (port === undefined) return bad(`"${shown(authority.slice(colon + 1))}" is not a port`);
  return checkName(authority.slice(0, colon), port);
}

/**
 * Read the target of an absolute-form plain HTTP request (`GET http://host/path`).
 * The `Host` header must name the same authority (a proxy that trusted one and
 * connected to the other would let the agent pick either).
 */
export function parseHttpTarget(
  requestTarget: string,
  hostHeader: string | undefined,
): ParsedEgressTarget & { path?: string } {
  if (requestTarget.length > 8192) return bad("the request target is too long");
  if (!/^http:\/\//i.test(requestTarget)) {
    if (/^https:\/\//i.test(requestTarget)) {
      return bad("https:// is tunnelled with CONNECT; set HTTPS_PROXY, not HTTP_PROXY, for it");
    }
    return bad("this is an egress proxy: send absolute-form requests (GET http://host/path) or CONNECT");
  }
  const authority = requestTarget.slice("http://".length).split(/[/?#]/, 1)[0] ?? "";
  if (authority.includes("@")) return bad("userinfo (user:password@) in a URL is refused");
  if (/[\\\s%]/.test(authority) || authority.length > maxAuthorityLength) {
    return bad(`"${shown(authority)}" is not a host`);
  }
  let url: URL;
  try {
    url = new URL(requestTarget);
  } catch (error) {
    return bad(`"${shown(requestTarget)}" is not a URL (${(error as Error).message})`);
  }
  if (url.hostname.startsWith("[")) return ipLiteral(url.hostname);
  const port = url.port === "" ? 80 : Number(url.port);
  const rawHost = authority.replace(/:\d*$/, "");
  const checked = checkName(rawHost, port);
  if (!checked.ok) return checked;
  if (hostHeader !== undefined && !isSameAuthority(hostHeader, checked.target, 80)) {
    return bad(`the Host header "${shown(hostHeader)}" names another place than the URL`);
  }
  return { ...checked, path: `${url.pathname}${url.search}` };
}

function checkName(raw: string, port: number): ParsedEgressTarget {
  const host = raw.toLowerCase().replace(/\.$/, "");
  if (isIP(host) || /^[0-9.]+$/.test(host) || /^0x/i.test(host)) return ipLiteral(host);
  const labels = host.split(".");
  const last = labels.at(-1) ?? "";
  if (host.length > 253 || labels.length < 2 || !labels.every((l) => label.test(l)) || !topLabel.test(last)) {
    if (labels.length === 1 && label.test(host)) {
      return {
        ok: false,
        status: 403,
        host,
        reason: `"${host}" is a local name; only public DNS names can be granted`,
      };
    }
    return bad(`"${shown(raw)}" is not a DNS name`);
  }
  return { ok: true, target: { host, port } };
}

/**
 * Whether a Host header names `target` (a missing port in it means `defaultPort`). A
 * request whose Host names another place than its target is refused rather than
 * guessed at: upstreams route on Host, so a mismatch is how a request meant for one
 * vhost reaches another behind the same granted address.
 */
export function isSameAuthority(hostHeader: string, target: EgressTarget, defaultPort: number): boolean {
  const value = hostHeader.trim().toLowerCase();
  const colon = value.lastIndexOf(":");
  const name = colon >= 0 ? value.slice(0, colon) : value;
  const port = colon >= 0 ? parsePort(value.slice(colon + 1)) : defaultPort;
  return name.replace(/\.$/, "") === target.host && port === target.port;
}

function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function ipLiteral(host: string): ParsedEgressTarget {
  return {
    ok: false,
    status: 403,
    reason: `"${shown(host)}" is an IP address; the egress proxy connects to granted DNS names only`,
  };
}

function bad(reason: string): ParsedEgressTarget & { ok: false } {
  return { ok: false, status: 400, reason };
}

/** What the agent sent, clipped and with control characters dropped, fit for a message. */
function shown(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
