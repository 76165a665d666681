import { isIP } from "node:net";
import { domainToASCII, domainToUnicode } from "node:url";
import type { CapabilityCheck } from "./capability-kinds.ts";

/** RFC 1035 §2.3.4: 63 octets a label, 255 a name on the wire (253 characters written out). */
const maxLabelLength = 63;
const maxNameLength = 253;

/**
 * Suffixes that never name a public host: loopback and link-local names (RFC 6761,
 * RFC 6762 .local), private-use names (RFC 8375 home.arpa, ICANN's .internal), reserved
 * test names (RFC 2606), reverse-DNS zones, and common intranet suffixes.
 */
const privateSuffixes = [
  "localhost",
  "local",
  "localdomain",
  "internal",
  "intranet",
  "lan",
  "home",
  "corp",
  "private",
  "home.arpa",
  "arpa",
  "test",
  "example",
  "invalid",
  "onion",
];

/**
 * Names that answer with an address chosen by whoever writes the name: cloud metadata
 * endpoints outside .internal, and wildcard DNS services that resolve `127.0.0.1.nip.io`
 * to 127.0.0.1. The egress proxy also refuses private addresses after resolving; this
 * keeps such names out of a review in the first place.
 */
const refusedDomains = [
  "metadata.tencentyun.com",
  "metadata.platformequinix.com",
  "nip.io",
  "sslip.io",
  "xip.io",
  "localtest.me",
  "lvh.me",
  "vcap.me",
  "traefik.me",
  "localhost.run",
];

/**
 * `network:<domain>`: a DNS name the egress proxy may connect to, and nothing that only
 * looks like one. Refused: IP literals in every spelling (dotted, decimal, octal, hex,
 * IPv6, bracketed), wildcards, ports, paths, single-label names (resolved through the
 * host's search domains), a trailing dot, local and metadata names, and names that are not
 * valid IDNA A-labels. Unicode names are refused; their punycode (xn--) form is accepted.
 * The name is returned lowercased.
 */
export function checkNetworkDomain(
  name: string,
  version: string | undefined,
): CapabilityCheck<{ name: string }> {
  if (version !== undefined) return refuse("version", "network grants take no version");
  if (name.length === 0) return refuse("name", "the domain is empty");
  const bare = name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
  if (isIP(bare) !== 0 || (name.includes(":") && /^[0-9a-f:.[\]%]+$/i.test(name))) {
    return refuse("name", "an IP address is refused: ask for the domain name of the service");
  }
  if (name.includes("*"))
    return refuse("name", "wildcards are refused: ask for each domain by its exact name");
  if (/[:/?#@\\]/.test(name)) {
    return refuse("name", "give the domain name alone: no scheme, port, path, query or user part");
  }
  if (name.endsWith(".")) {
    return refuse(
      "name",
      "a trailing dot is refused: write the domain without it (example.org, not example.org.)",
    );
  }
  if (/[^\x21-\x7e]/.test(name)) {
    return refuse(
      "name",
      "non-ASCII and space characters are refused: write an internationalised name in its punycode (xn--) form",
    );
  }
  const domain = name.toLowerCase();
  if (domain.length > maxNameLength)
    return refuse("name", `a domain name is at most ${maxNameLength} characters (RFC 1035)`);
  if (!/^[a-z0-9.-]+$/.test(domain)) {
    return refuse("name", "a domain name has letters, digits, - and . only (no _ or other characters)");
  }
  const labels = domain.split(".");
  for (const label of labels) {
    if (label.length === 0)
      return refuse("name", "empty label: the name has a leading dot or two dots in a row");
    if (label.length > maxLabelLength)
      return refuse("name", `a label is at most ${maxLabelLength} characters (RFC 1035)`);
    if (label.startsWith("-") || label.endsWith("-"))
      return refuse("name", "a label cannot start or end with -");
  }
  if (looksLikeIpv4(labels)) {
    return refuse(
      "name",
      "an IP address (in dotted, decimal, octal or hex form) is refused: ask for the domain name of the service",
    );
  }
  if (labels.length < 2) {
    return refuse(
      "name",
      "a single-label name is refused: it resolves through the host's search domains; give the full domain name",
    );
  }
  if (/^[0-9]+$/.test(labels.at(-1) ?? "")) {
    return refuse("name", "a name whose last label is numeric is an IP address in disguise, never a domain");
  }
  for (const suffix of privateSuffixes) {
    if (domain === suffix || domain.endsWith(`.${suffix}`)) {
      return refuse("name", `.${suffix} names are local or reserved, never a public service`);
    }
  }
  if (labels.includes("localhost")) return refuse("name", "localhost names are refused");
  for (const refused of refusedDomains) {
    if (domain === refused || domain.endsWith(`.${refused}`)) {
      return refuse(
        "name",
        `${refused} is refused: it resolves to whatever address the name spells, or to a metadata service`,
      );
    }
  }
  // A punycode label must decode to Unicode and encode back to itself: Node leaves a label
  // it cannot decode unchanged, and domainToASCII returns "" for an invalid IDNA name.
  const badPunycode = labels.some(
    (label) =>
      label.startsWith("xn--") &&
      (domainToUnicode(label) === label || domainToASCII(domainToUnicode(label)) !== label),
  );
  if (badPunycode || domainToASCII(domain) !== domain) {
    return refuse("name", "not a valid internationalised domain name (bad punycode xn-- label)");
  }
  return { ok: true, name: domain };
}

/**
 * inet_aton's forms: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); curl and
 * many resolvers accept `0x7f.1` or `2130706433` as 127.0.0.1.
 */
function looksLikeIpv4(labels: readonly string[]): boolean {
  return labels.length <= 4 && labels.every((label) => /^(0x[0-9a-f]*|[0-9]+)$/.test(label));
}

function refuse(field: "name" | "version", reason: string): CapabilityCheck<never> {
  return { ok: false, field, reason };
}
