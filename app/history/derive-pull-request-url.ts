/**
 * The pull request's web address, from the repository's clone_url as GitHub reported it
 * (`https://<host>/<owner>/<repo>.git`), so GitHub Enterprise Server links work too and no
 * host name is assumed (DESIGN §3). Undefined when the run has no PR or no http(s) clone URL.
 */
export function derivePullRequestUrl(cloneUrl: string | null, prNumber: number | null): string | undefined {
  if (cloneUrl === null || prNumber === null || !URL.canParse(cloneUrl)) return undefined;
  const url = new URL(cloneUrl);
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  url.username = "";
  url.password = "";
  url.search = "";
  url.hash = "";
  url.pathname = `${url.pathname.replace(/\.git$/, "").replace(/\/+$/, "")}/pull/${prNumber}`;
  return url.toString();
}
