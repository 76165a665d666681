/**
 * Whether `host` (lowercase, no trailing dot) is one of the run's `network:` grants.
 * Exact names only: `network:example.com` opens example.com and not api.example.com, and
 * there are no wildcards. A maintainer approves the one name the agent asked for; a
 * subdomain can point anywhere its owner likes (often at someone else's service), so each
 * is asked for and approved on its own.
 */
export function isGrantedDomain(host: string, grants: ReadonlySet<string>): boolean {
  if (grants.has(host)) return true;
  for (const grant of grants) {
    if (grant.toLowerCase().replace(/\.$/, "") === host) return true;
  }
  return false;
}
