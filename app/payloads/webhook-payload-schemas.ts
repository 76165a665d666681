import { z } from "zod";

/**
 * The parts of GitHub's webhook payloads the handlers depend on, parsed rather than trusted
 * (STYLE: parse at every boundary). Unknown fields are dropped; a payload missing one of
 * these is refused with a message naming the field.
 */
const login = z.string().min(1).max(100);

export const senderSchema = z.object({ login, type: z.string() });

export const repositorySchema = z.object({
  full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
  name: z.string(),
  owner: z.object({ login }),
  default_branch: z.string().min(1),
  clone_url: z.string().min(1),
});

export const installationRefSchema = z.object({ id: z.number().int() });

export const issueSchema = z.object({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string().nullable().optional(),
  user: z.object({ login, type: z.string() }),
  pull_request: z.unknown().optional(),
});

export const commentSchema = z.object({
  id: z.number().int(),
  body: z.string().nullable().optional(),
  user: z.object({ login, type: z.string() }),
});

export const reviewCommentSchema = commentSchema.extend({
  path: z.string(),
  line: z.number().int().nullable().optional(),
  original_line: z.number().int().nullable().optional(),
  diff_hunk: z.string(),
  /** Set on a reply: the thread's top comment (a capability request's question, for /approve and /deny). */
  in_reply_to_id: z.number().int().nullable().optional(),
});

export const pullRequestSchema = z.object({
  number: z.number().int().positive(),
  head: z.object({ ref: z.string(), repo: z.object({ full_name: z.string() }).nullable().optional() }),
});

export const issuesLabeledSchema = z.object({
  label: z.object({ name: z.string() }).optional(),
  issue: issueSchema,
  repository: repositorySchema,
  sender: senderSchema,
  installation: installationRefSchema,
});

export const issueCommentCreatedSchema = z.object({
  comment: commentSchema,
  issue: issueSchema,
  repository: repositorySchema,
  sender: senderSchema,
  installation: installationRefSchema,
});

export const reviewCommentCreatedSchema = z.object({
  comment: reviewCommentSchema,
  pull_request: pullRequestSchema,
  repository: repositorySchema,
  sender: senderSchema,
  installation: installationRefSchema,
});

export const reviewSubmittedSchema = z.object({
  review: z.object({
    id: z.number().int(),
    /** Lower case in webhooks: approved, commented, changes_requested, dismissed. */
    state: z.string(),
    commit_id: z.string(),
    user: z.object({ login, type: z.string() }),
  }),
  pull_request: z.object({
    number: z.number().int().positive(),
    head: z.object({ ref: z.string(), sha: z.string() }),
  }),
  repository: repositorySchema,
  sender: senderSchema,
  installation: installationRefSchema,
});

export const installationReposSchema = z.object({
  installation: installationRefSchema,
  repositories: z.array(z.object({ full_name: z.string() })).optional(),
  repositories_added: z.array(z.object({ full_name: z.string() })).optional(),
});

/** `workflow_run.completed` (issue 11): the fields that match it to a run's image build. */
export const workflowRunCompletedSchema = z.object({
  workflow_run: z.object({
    id: z.number().int().positive(),
    /** success, failure, cancelled, timed_out, … ; null only while not completed. */
    conclusion: z.string().nullable(),
    path: z.string(),
    html_url: z.string(),
  }),
  repository: repositorySchema,
  sender: senderSchema,
  installation: installationRefSchema,
});
