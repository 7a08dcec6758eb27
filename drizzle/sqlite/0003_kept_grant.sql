PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_connect_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`connect_token_hash` text NOT NULL,
	`state_hash` text,
	`flow_cookie_hash` text,
	`code_verifier` text,
	`code` text,
	`granted_tokens` text,
	`key_id` text,
	`status` text NOT NULL,
	`error_code` text,
	`completion_hash` text,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "connect_sessions_provider_check" CHECK(provider in ('dropbox')),
	CONSTRAINT "connect_sessions_status_check" CHECK(status in ('created', 'started', 'authorized', 'denied', 'failed', 'completing', 'completed', 'cancelled')),
	CONSTRAINT "connect_sessions_key_id_check" CHECK((code_verifier is null and code is null and granted_tokens is null) or key_id is not null)
);
--> statement-breakpoint
INSERT INTO `__new_connect_sessions`("id", "user_id", "provider", "connect_token_hash", "state_hash", "flow_cookie_hash", "code_verifier", "code", "key_id", "status", "error_code", "completion_hash", "expires_at", "created_at") SELECT "id", "user_id", "provider", "connect_token_hash", "state_hash", "flow_cookie_hash", "code_verifier", "code", "key_id", "status", "error_code", "completion_hash", "expires_at", "created_at" FROM `connect_sessions`;--> statement-breakpoint
DROP TABLE `connect_sessions`;--> statement-breakpoint
ALTER TABLE `__new_connect_sessions` RENAME TO `connect_sessions`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `connect_sessions_connect_token_hash_unique` ON `connect_sessions` (`connect_token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `connect_sessions_state_hash_unique` ON `connect_sessions` (`state_hash`);--> statement-breakpoint
CREATE INDEX `connect_sessions_expires_at_index` ON `connect_sessions` (`expires_at`);