CREATE TABLE "revocations" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"provider" text NOT NULL,
	"reason" text NOT NULL,
	"access_token" text NOT NULL,
	"access_token_expires_at" timestamp (3) with time zone NOT NULL,
	"refresh_token" text NOT NULL,
	"key_id" text NOT NULL,
	"attempts" integer NOT NULL,
	"due_at" timestamp (3) with time zone NOT NULL,
	"enqueued_at" timestamp (3) with time zone NOT NULL,
	"claim" text,
	CONSTRAINT "revocations_provider_check" CHECK (provider in ('dropbox')),
	CONSTRAINT "revocations_reason_check" CHECK (reason in ('disconnected', 'replaced', 'failed_connect'))
);
--> statement-breakpoint
ALTER TABLE "connect_sessions" DROP CONSTRAINT "connect_sessions_status_check";--> statement-breakpoint
ALTER TABLE "connect_sessions" ADD COLUMN "completion_hash" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "reconnect_reason" text;--> statement-breakpoint
ALTER TABLE "connections" ADD COLUMN "missing_scope" text;--> statement-breakpoint
CREATE INDEX "revocations_due_at_index" ON "revocations" USING btree ("due_at");--> statement-breakpoint
CREATE INDEX "revocations_key_id_index" ON "revocations" USING btree ("key_id");--> statement-breakpoint
ALTER TABLE "connect_sessions" ADD CONSTRAINT "connect_sessions_status_check" CHECK (status in ('created', 'started', 'authorized', 'denied', 'failed', 'completing', 'completed', 'cancelled'));