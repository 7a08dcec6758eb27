ALTER TABLE `connections` ADD `refresh_lease_holder` text;--> statement-breakpoint
ALTER TABLE `connections` ADD `refresh_lease_expires_at` integer;