ALTER TABLE "llm_calls" ADD COLUMN "call_key" text;--> statement-breakpoint
ALTER TABLE "llm_calls" ADD CONSTRAINT "llm_calls_call_key_unique" UNIQUE("call_key");