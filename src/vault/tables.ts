/**
 * What the two dialects' tables (`sqlite/schema.ts`, `postgres/schema.ts`) have in common: the
 * allowed values of their enumerated columns and the checks that enforce them.
 */
import { sql } from 'drizzle-orm'

export const PROVIDERS = ['dropbox'] as const
export const CONNECTION_STATUSES = ['connected', 'reconnect_required'] as const
export const ROOT_TYPES = ['user', 'team'] as const
export const SESSION_STATUSES = [
  'created',
  'started',
  'authorized',
  'denied',
  'failed',
  'completing',
  'completed',
  'cancelled',
] as const
/** Why a connection is `reconnect_required` (contract §5 `reason`). */
export const RECONNECT_REASONS = ['revoked', 'missing_scope'] as const
export const REVOCATION_REASONS = ['disconnected', 'replaced', 'failed_connect'] as const

export function oneOf(column: string, values: readonly string[]) {
  return sql.raw(`${column} in (${values.map((value) => `'${value}'`).join(', ')})`)
}

/** A secret without the key that opens it would be unrecoverable. */
export const SESSION_KEY_ID_CHECK = sql.raw(
  '(code_verifier is null and code is null and granted_tokens is null) or key_id is not null',
)
