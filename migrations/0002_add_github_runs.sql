CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"event" text NOT NULL,
	"action" text,
	"installation_id" bigint,
	"repo" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"run_id" text
);
--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "installation_id" bigint;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "clone_url" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "base_ref" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "head_branch" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "pr_number" integer;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "follow_up_of" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "requested_by" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "trigger" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "repo_config" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "tracking_comment_id" bigint;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "cancel_requested_by" text;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "published_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "runs_issue_idx" ON "runs" USING btree ("repo","issue_number");