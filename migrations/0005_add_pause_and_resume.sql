CREATE TABLE "run_agent_states" (
	"run_id" text PRIMARY KEY NOT NULL,
	"segment" integer NOT NULL,
	"archive" "bytea" NOT NULL,
	"bytes" integer NOT NULL,
	"files" integer NOT NULL,
	"sha256" text NOT NULL,
	"saved_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "capability_requests" ADD COLUMN "review_id" bigint;--> statement-breakpoint
ALTER TABLE "capability_requests" ADD COLUMN "review_comment_id" bigint;--> statement-breakpoint
ALTER TABLE "capability_requests" ADD COLUMN "segment" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "segment" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "paused_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "approval_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "run_agent_states" ADD CONSTRAINT "run_agent_states_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;