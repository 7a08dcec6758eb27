ALTER TABLE "connect_sessions" DROP CONSTRAINT "connect_sessions_key_id_check";--> statement-breakpoint
ALTER TABLE "connect_sessions" ADD COLUMN "granted_tokens" text;--> statement-breakpoint
ALTER TABLE "connect_sessions" ADD CONSTRAINT "connect_sessions_key_id_check" CHECK ((code_verifier is null and code is null and granted_tokens is null) or key_id is not null);