// Paths whose change would let an agent run code with the repository's secrets
// (workflows, and the local actions and submodules a workflow runs: a workflow that says
// `uses: ./.github/actions/x` or checks out with `submodules: true` runs whatever the agent
// put there) or loosen its own limits (Airlock's config). Compared without case so a
// look-alike on a case-insensitive checkout is held back too.
const protectedRoots = [
  ".github/workflows",
  ".github/actions",
  ".gitmodules",
  ".github/airlock",
  ".github/airlock.yml",
  ".github/airlock.yaml",
];

/** True when a change to `path` is held back unless the repository's config allows workflow changes. */
export function isProtectedPath(path: string): boolean {
  const folded = path.toLowerCase();
  return protectedRoots.some(
    (root) => folded === root || folded.startsWith(`${root}/`) || root.startsWith(`${folded}/`),
  );
}
