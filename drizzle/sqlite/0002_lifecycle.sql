CREATE TABLE `revocations` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`provider` text NOT NULL,
	`reason` text NOT NULL,
	`access_token` text NOT NULL,
	`access_token_expires_at` integer NOT NULL,
	`refresh_token` text NOT NULL,
	`key_id` text NOT NULL,
	`attempts` integer NOT NULL,
	`due_at` integer NOT NULL,
	`enqueued_at` integer NOT NULL,
	`claim` text,
	CONSTRAINT "revocations_provider_check" CHECK(provider in ('dropbox')),
	CONSTRAINT "revocations_reason_check" CHECK(reason in ('disconnected', 'replaced', 'failed_connect'))
);
--> statement-breakpoint
CREATE INDEX `revocations_due_at_index` ON `revocations` (`due_at`);--> statement-breakpoint
CREATE INDEX `revocations_key_id_index` ON `revocations` (`key_id`);--> statement-breakpoint
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
	`key_id` text,
	`status` text NOT NULL,
	`error_code` text,
	`completion_hash` text,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT "connect_sessions_provider_check" CHECK(provider in ('dropbox')),
	CONSTRAINT "connect_sessions_status_check" CHECK(status in ('created', 'started', 'authorized', 'denied', 'failed', 'completing', 'completed', 'cancelled')),
	CONSTRAINT "connect_sessions_key_id_check" CHECK((code_verifier is null and code is null) or key_id is not null)
);
--> statement-breakpoint
INSERT INTO `__new_connect_sessions`("id", "user_id", "provider", "connect_token_hash", "state_hash", "flow_cookie_hash", "code_verifier", "code", "key_id", "status", "error_code", "expires_at", "created_at") SELECT "id", "user_id", "provider", "connect_token_hash", "state_hash", "flow_cookie_hash", "code_verifier", "code", "key_id", "status", "error_code", "expires_at", "created_at" FROM `connect_sessions`;--> statement-breakpoint
DROP TABLE `connect_sessions`;--> statement-breakpoint
ALTER TABLE `__new_connect_sessions` RENAME TO `connect_sessions`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `connect_sessions_connect_token_hash_unique` ON `connect_sessions` (`connect_token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `connect_sessions_state_hash_unique` ON `connect_sessions` (`state_hash`);--> statement-breakpoint
CREATE INDEX `connect_sessions_expires_at_index` ON `connect_sessions` (`expires_at`);--> statement-breakpoint
ALTER TABLE `connections` ADD `reconnect_reason` text;--> statement-breakpoint
ALTER TABLE `connections` ADD `missing_scope` text;