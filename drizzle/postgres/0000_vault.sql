CREATE TABLE "connect_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"provider" text NOT NULL,
	"connect_token_hash" text NOT NULL,
	"state_hash" text,
	"flow_cookie_hash" text,
	"code_verifier" text,
	"code" text,
	"key_id" text,
	"status" text NOT NULL,
	"error_code" text,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "connect_sessions_provider_check" CHECK (provider in ('dropbox')),
	CONSTRAINT "connect_sessions_status_check" CHECK (status in ('created', 'started', 'authorized', 'denied', 'failed', 'completed', 'cancelled')),
	CONSTRAINT "connect_sessions_key_id_check" CHECK ((code_verifier is null and code is null) or key_id is not null)
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"provider" text NOT NULL,
	"account_id" text NOT NULL,
	"email" text,
	"scopes" jsonb NOT NULL,
	"token_type" text NOT NULL,
	"root_type" text NOT NULL,
	"root_namespace_id" text NOT NULL,
	"home_namespace_id" text NOT NULL,
	"home_path" text,
	"status" text NOT NULL,
	"access_token" text NOT NULL,
	"access_token_expires_at" timestamp (3) with time zone NOT NULL,
	"refresh_token" text NOT NULL,
	"key_id" text NOT NULL,
	"version" integer NOT NULL,
	"connected_at" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	"refresh_lease_holder" text,
	"refresh_lease_expires_at" timestamp (3) with time zone,
	CONSTRAINT "connections_provider_check" CHECK (provider in ('dropbox')),
	CONSTRAINT "connections_status_check" CHECK (status in ('connected', 'reconnect_required')),
	CONSTRAINT "connections_root_type_check" CHECK (root_type in ('user', 'team'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "connect_sessions_connect_token_hash_unique" ON "connect_sessions" USING btree ("connect_token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "connect_sessions_state_hash_unique" ON "connect_sessions" USING btree ("state_hash");--> statement-breakpoint
CREATE INDEX "connect_sessions_expires_at_index" ON "connect_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "connections_user_provider_unique" ON "connections" USING btree ("user_id","provider");--> statement-breakpoint
CREATE INDEX "connections_key_id_index" ON "connections" USING btree ("key_id");