import type {
  GitHubApi,
  IssueCommentInfo,
  PullInfo,
  ReactionContent,
  ReactionTarget,
  RepoRef,
  RepoRole,
} from "../../core/github/github-api.ts";

export interface FakeGitHubSetup {
  /** The methods this test expects to be called; any other call fails the test. */
  expect: (keyof GitHubApi)[];
  roles?: Record<string, RepoRole>;
  /** `owner/name:path` → text; a missing key reads as "no such file". */
  files?: Record<string, string>;
  /** `owner/name#number` → comments. */
  issueComments?: Record<string, IssueCommentInfo[]>;
  /** `owner/name#number` → pull request. */
  pulls?: Record<string, PullInfo>;
  /** `owner/name` whose every call fails (one repository's error must not stop the others). */
  failingRepos?: string[];
  /** Methods that fail for every repository (GitHub down, permission missing). */
  failingMethods?: (keyof GitHubApi)[];
  /** Runs before the method answers: to look at the database mid-delivery. */
  before?: Partial<Record<keyof GitHubApi, () => Promise<void>>>;
}

export interface FakeGitHub {
  api: GitHubApi;
  calls: { method: keyof GitHubApi; repo: string; args: unknown[] }[];
  /** Calls nobody expected; `close()` throws while this is not empty. */
  unexpected: string[];
  /** The unexpected calls so far, which the test has now seen: they no longer fail `close()`. */
  takeUnexpected(): string[];
  /** The end of the test: throws when a call nobody expected was made and not taken. */
  close(): void;
  comments: { repo: string; issueNumber: number; id: number; body: string }[];
  reactions: { repo: string; target: ReactionTarget; content: ReactionContent }[];
  labels: { repo: string; name: string; color: string; description: string }[];
}

/**
 * An in-memory GitHubApi that records every call and refuses the ones the test did not
 * declare: a handler that quietly calls GitHub more (or differently) than it should fails.
 * The app catches the refusal like any GitHub error, so the fake also keeps it in
 * `unexpected` and `close()` throws on it: the test fails without having to look.
 */
export function createFakeGitHub(setup: FakeGitHubSetup): FakeGitHub {
  const fake: FakeGitHub = {
    api: {} as GitHubApi,
    calls: [],
    unexpected: [],
    comments: [],
    reactions: [],
    labels: [],
    takeUnexpected: () => fake.unexpected.splice(0, fake.unexpected.length),
    close() {
      if (fake.unexpected.length > 0) {
        throw new Error(
          `the fake GitHub saw ${fake.unexpected.length} call(s) nobody expected (declare them in \`expect\`, ` +
            `or assert them and call takeUnexpected()):\n  ${fake.unexpected.join("\n  ")}`,
        );
      }
    },
  };
  let nextCommentId = 9_000_000;
  const name = (repo: RepoRef) => `${repo.owner}/${repo.repo}`;
  const enter = (method: keyof GitHubApi, repo: RepoRef, args: unknown[]) => {
    fake.calls.push({ method, repo: name(repo), args });
    if (!setup.expect.includes(method)) {
      fake.unexpected.push(`${method}(${name(repo)}, ${JSON.stringify(args)})`);
      throw new Error(`unexpected GitHub call: ${method}`);
    }
    if (setup.failingRepos?.includes(name(repo))) throw new Error(`GitHub is down for ${name(repo)}`);
    if (setup.failingMethods?.includes(method)) throw new Error(`GitHub refused ${method}`);
  };
  const refuse = (what: string): never => {
    fake.unexpected.push(what);
    throw new Error(`unexpected GitHub call: ${what}`);
  };
  fake.api = {
    async getRepository(repo) {
      enter("getRepository", repo, []);
      return refuse("getRepository has no fake data");
    },
    async getRole(repo, login) {
      enter("getRole", repo, [login]);
      const role = setup.roles?.[login];
      return role ?? refuse(`getRole for ${login}, whom the test did not declare`);
    },
    async readFile(repo, path, ref) {
      enter("readFile", repo, [path, ref]);
      if (ref !== undefined) refuse(`readFile ${path} at ${ref}: config must come from the default branch`);
      return setup.files?.[`${name(repo)}:${path}`];
    },
    async getIssue(repo, issueNumber) {
      enter("getIssue", repo, [issueNumber]);
      return refuse("getIssue has no fake data");
    },
    async listIssueComments(repo, issueNumber) {
      enter("listIssueComments", repo, [issueNumber]);
      return setup.issueComments?.[`${name(repo)}#${issueNumber}`] ?? [];
    },
    async createIssueComment(repo, issueNumber, body) {
      enter("createIssueComment", repo, [issueNumber, body]);
      await setup.before?.createIssueComment?.();
      const id = nextCommentId++;
      fake.comments.push({ repo: name(repo), issueNumber, id, body });
      return { id, htmlUrl: `https://github.test/${name(repo)}/issues/${issueNumber}#issuecomment-${id}` };
    },
    async updateIssueComment(repo, commentId, body) {
      enter("updateIssueComment", repo, [commentId, body]);
    },
    async addReaction(repo, target, content) {
      enter("addReaction", repo, [target, content]);
      fake.reactions.push({ repo: name(repo), target, content });
    },
    async ensureLabel(repo, label) {
      enter("ensureLabel", repo, [label]);
      const exists = fake.labels.some((l) => l.repo === name(repo) && l.name === label.name);
      if (!exists) fake.labels.push({ repo: name(repo), ...label });
      return exists ? "exists" : "created";
    },
    async getPull(repo, pullNumber) {
      enter("getPull", repo, [pullNumber]);
      return (
        setup.pulls?.[`${name(repo)}#${pullNumber}`] ??
        refuse(`getPull #${pullNumber}, which the test did not declare`)
      );
    },
    async findOpenPull(repo, branch) {
      enter("findOpenPull", repo, [branch]);
      return undefined;
    },
    async createPull(repo, pull) {
      enter("createPull", repo, [pull]);
      return refuse("createPull is the runner's");
    },
    async updatePull(repo, pullNumber, change) {
      enter("updatePull", repo, [pullNumber, change]);
    },
    async createReview(repo, pullNumber, review) {
      enter("createReview", repo, [pullNumber, review]);
      return refuse("createReview is the runner's");
    },
    async listReviewComments(repo, pullNumber) {
      enter("listReviewComments", repo, [pullNumber]);
      return [];
    },
    async replyToReviewComment(repo, pullNumber, commentId, body) {
      enter("replyToReviewComment", repo, [pullNumber, commentId, body]);
      const id = nextCommentId++;
      return { id, htmlUrl: `https://github.test/${name(repo)}/pull/${pullNumber}#discussion_r${id}` };
    },
    async dispatchWorkflow(repo, workflow, dispatch) {
      enter("dispatchWorkflow", repo, [workflow, dispatch]);
      return refuse("dispatchWorkflow: the Actions image path is tested against the GitHub stand-in");
    },
    async listCheckRuns(repo, ref, checkName) {
      enter("listCheckRuns", repo, [ref, checkName]);
      return refuse("listCheckRuns: the Actions image path is tested against the GitHub stand-in");
    },
  };
  return fake;
}
