import { parseIpBytes } from "./parse-ip-bytes.ts";

/**
 * Whether the egress proxy may open a connection to an address a granted name resolved
 * to. Default deny: an IPv4 address must be outside every special-purpose range below,
 * and an IPv6 address must be global unicast (2000::/3) and outside the special ranges
 * in it. Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped,
 * IPv4-compatible, NAT64, 6to4) are judged by the IPv4 address they carry, so
 * `::ffff:127.0.0.1` is loopback, not "some IPv6 address" (issue 10 §7: a granted name
 * that resolves to loopback, a private network or a metadata service is refused; that is
 * how an agent would reach the runner's host or the cloud's credentials).
 */
export type AddressVerdict =
  | { allowed: true; family: 4 | 6 }
  | { allowed: false; family: 4 | 6 | undefined; range: string; reason: string };

interface Range {
  /** The CIDR, for the reader and for the verdict. */
  cidr: string;
  reason: string;
}

/** First match wins, so a narrower range sits before the range that holds it. */
const ipv4Ranges: readonly Range[] = [
  { cidr: "169.254.169.254/32", reason: "the cloud metadata service (instance credentials)" },
  { cidr: "168.63.129.16/32", reason: "the Azure platform endpoint (WireServer)" },
  { cidr: "0.0.0.0/32", reason: "the unspecified address" },
  { cidr: "0.0.0.0/8", reason: "'this network' (RFC 791)" },
  { cidr: "10.0.0.0/8", reason: "a private network (RFC 1918)" },
  { cidr: "100.64.0.0/10", reason: "carrier-grade NAT space (RFC 6598)" },
  { cidr: "127.0.0.0/8", reason: "loopback (the runner's own host)" },
  { cidr: "169.254.0.0/16", reason: "link-local (RFC 3927)" },
  { cidr: "172.16.0.0/12", reason: "a private network (RFC 1918)" },
  { cidr: "192.0.0.0/24", reason: "IETF protocol assignments (RFC 6890)" },
  { cidr: "192.0.2.0/24", reason: "documentation space (TEST-NET-1)" },
  { cidr: "192.88.99.0/24", reason: "the deprecated 6to4 relay anycast (RFC 7526)" },
  { cidr: "192.168.0.0/16", reason: "a private network (RFC 1918)" },
  { cidr: "198.18.0.0/15", reason: "benchmarking space (RFC 2544)" },
  { cidr: "198.51.100.0/24", reason: "documentation space (TEST-NET-2)" },
  { cidr: "203.0.113.0/24", reason: "documentation space (TEST-NET-3)" },
  { cidr: "224.0.0.0/4", reason: "multicast" },
  { cidr: "255.255.255.255/32", reason: "broadcast" },
  { cidr: "240.0.0.0/4", reason: "reserved (RFC 1112)" },
];

const ipv6Ranges: readonly Range[] = [
  { cidr: "::/128", reason: "the unspecified address" },
  { cidr: "::1/128", reason: "loopback (the runner's own host)" },
  { cidr: "fd00:ec2::254/128", reason: "the AWS IPv6 metadata service (instance credentials)" },
  { cidr: "fc00::/7", reason: "a unique-local network (RFC 4193)" },
  { cidr: "fe80::/10", reason: "link-local" },
  { cidr: "fec0::/10", reason: "site-local (deprecated, RFC 3879)" },
  { cidr: "ff00::/8", reason: "multicast" },
  { cidr: "100::/64", reason: "the discard prefix (RFC 6666)" },
  { cidr: "64:ff9b:1::/48", reason: "local-use NAT64 (RFC 8215)" },
  // Teredo hides its IPv4 server and client (obfuscated) in the address; no need to reach it.
  { cidr: "2001::/32", reason: "a Teredo tunnel (RFC 4380)" },
  { cidr: "2001:2::/48", reason: "benchmarking space (RFC 5180)" },
  { cidr: "2001:10::/28", reason: "ORCHID (RFC 4843)" },
  { cidr: "2001:20::/28", reason: "ORCHIDv2 (RFC 7343)" },
  { cidr: "2001:db8::/32", reason: "documentation space (RFC 3849)" },
  { cidr: "3fff::/20", reason: "documentation space (RFC 9637)" },
];

/** IPv6 prefixes that carry an IPv4 address, and the byte offset where it sits. */
const embeddedIpv4: readonly { cidr: string; form: string; offset: number }[] = [
  { cidr: "::ffff:0:0/96", form: "IPv4-mapped", offset: 12 },
  { cidr: "::/96", form: "IPv4-compatible", offset: 12 },
  { cidr: "64:ff9b::/96", form: "NAT64", offset: 12 },
  { cidr: "2002::/16", form: "6to4", offset: 2 },
];

const parsedCidr = new Map<string, { bytes: Uint8Array; bits: number }>();

function cidrParts(cidr: string): { bytes: Uint8Array; bits: number } {
  let parts = parsedCidr.get(cidr);
  if (!parts) {
    const [address = "", bits = ""] = cidr.split("/");
    const bytes = parseIpBytes(address);
    if (!bytes) throw new Error(`bad CIDR in the egress range table: ${cidr}`);
    parts = { bytes, bits: Number(bits) };
    parsedCidr.set(cidr, parts);
  }
  return parts;
}

function inCidr(bytes: Uint8Array, cidr: string): boolean {
  const range = cidrParts(cidr);
  if (range.bytes.length !== bytes.length) return false;
  for (let bit = 0; bit < range.bits; bit += 8) {
    const left = Math.min(8, range.bits - bit);
    const mask = (0xff << (8 - left)) & 0xff;
    const i = bit / 8;
    if (((bytes[i] ?? 0) & mask) !== ((range.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyIpv4(bytes: Uint8Array): AddressVerdict {
  const hit = ipv4Ranges.find((r) => inCidr(bytes, r.cidr));
  if (hit) return { allowed: false, family: 4, range: hit.cidr, reason: hit.reason };
  return { allowed: true, family: 4 };
}

export function classifyAddress(address: string): AddressVerdict {
  const bytes = parseIpBytes(address);
  if (!bytes) {
    return { allowed: false, family: undefined, range: "-", reason: "not an IP address" };
  }
  if (bytes.length === 4) return classifyIpv4(bytes);

  const exact = ipv6Ranges.slice(0, 2).find((r) => inCidr(bytes, r.cidr));
  if (exact) return { allowed: false, family: 6, range: exact.cidr, reason: exact.reason };
  const carrier = embeddedIpv4.find((e) => inCidr(bytes, e.cidr));
  if (carrier) {
    const inner = classifyIpv4(bytes.slice(carrier.offset, carrier.offset + 4));
    if (inner.allowed) return { allowed: true, family: 6 };
    return { allowed: false, family: 6, range: carrier.cidr, reason: `${carrier.form} ${inner.reason}` };
  }
  const hit = ipv6Ranges.find((r) => inCidr(bytes, r.cidr));
  if (hit) return { allowed: false, family: 6, range: hit.cidr, reason: hit.reason };
  if (!inCidr(bytes, "2000::/3")) {
    return { allowed: false, family: 6, range: "2000::/3", reason: "outside IPv6 global unicast (2000::/3)" };
  }
  return { allowed: true, family: 6 };
}
