/**
 * The vault's tables on PostgreSQL (contract §7, §11): the same tables, columns, indexes and checks
 * as `../sqlite/schema.ts`, in PostgreSQL's native types (`timestamptz` for the millisecond
 * timestamps, `jsonb` for the scopes). Rows come back in the same shapes (`../store.ts` checks it),
 * so one vault serves both. Migrations come from this file via
 * `drizzle-kit generate --config drizzle.postgres.config.ts`.
 */
import {
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core'
import {
  CONNECTION_STATUSES,
  oneOf,
  PROVIDERS,
  RECONNECT_REASONS,
  REVOCATION_REASONS,
  ROOT_TYPES,
  SESSION_KEY_ID_CHECK,
  SESSION_STATUSES,
} from '../tables.ts'

function instant(name: string) {
  return timestamp(name, { withTimezone: true, mode: 'date', precision: 3 })
}

export const connections = pgTable(
  'connections',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    provider: text('provider', { enum: PROVIDERS }).notNull(),
    accountId: text('account_id').notNull(),
    email: text('email'),
    scopes: jsonb('scopes').$type<string[]>().notNull(),
    tokenType: text('token_type').notNull(),
    rootType: text('root_type', { enum: ROOT_TYPES }).notNull(),
    rootNamespaceId: text('root_namespace_id').notNull(),
    homeNamespaceId: text('home_namespace_id').notNull(),
    homePath: text('home_path'),
    status: text('status', { enum: CONNECTION_STATUSES }).notNull(),
    /** With `reconnect_required`: why, and for `missing_scope` the scope (contract §5). */
    reconnectReason: text('reconnect_reason', { enum: RECONNECT_REASONS }),
    missingScope: text('missing_scope'),
    accessToken: text('access_token').notNull(),
    accessTokenExpiresAt: instant('access_token_expires_at').notNull(),
    refreshToken: text('refresh_token').notNull(),
    keyId: text('key_id').notNull(),
    version: integer('version').notNull(),
    connectedAt: instant('connected_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
    refreshLeaseHolder: text('refresh_lease_holder'),
    refreshLeaseExpiresAt: instant('refresh_lease_expires_at'),
  },
  (table) => [
    uniqueIndex('connections_user_provider_unique').on(table.userId, table.provider),
    index('connections_key_id_index').on(table.keyId),
    check('connections_provider_check', oneOf('provider', PROVIDERS)),
    check('connections_status_check', oneOf('status', CONNECTION_STATUSES)),
    check('connections_root_type_check', oneOf('root_type', ROOT_TYPES)),
  ],
)

export const connectSessions = pgTable(
  'connect_sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    provider: text('provider', { enum: PROVIDERS }).notNull(),
    connectTokenHash: text('connect_token_hash').notNull(),
    stateHash: text('state_hash'),
    flowCookieHash: text('flow_cookie_hash'),
    codeVerifier: text('code_verifier'),
    code: text('code'),
    grantedTokens: text('granted_tokens'),
    keyId: text('key_id'),
    status: text('status', { enum: SESSION_STATUSES }).notNull(),
    errorCode: text('error_code'),
    /** The hash of the single-use completion secret the callback put in the return URL (§3.3). */
    completionHash: text('completion_hash'),
    expiresAt: instant('expires_at').notNull(),
    createdAt: instant('created_at').notNull(),
  },
  (table) => [
    uniqueIndex('connect_sessions_connect_token_hash_unique').on(table.connectTokenHash),
    uniqueIndex('connect_sessions_state_hash_unique').on(table.stateHash),
    index('connect_sessions_expires_at_index').on(table.expiresAt),
    check('connect_sessions_provider_check', oneOf('provider', PROVIDERS)),
    check('connect_sessions_status_check', oneOf('status', SESSION_STATUSES)),
    check('connect_sessions_key_id_check', SESSION_KEY_ID_CHECK),
  ],
)

/**
 * The durable revocation queue (contract §7): grants Dropbox could not be told about, their
 * tokens sealed and bound to this row like a connection's. `due_at` is both the next try and
 * the claim: claiming moves it forward by a lease, so one replica works on an entry at a time.
 */
export const revocations = pgTable(
  'revocations',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    provider: text('provider', { enum: PROVIDERS }).notNull(),
    reason: text('reason', { enum: REVOCATION_REASONS }).notNull(),
    accessToken: text('access_token').notNull(),
    accessTokenExpiresAt: instant('access_token_expires_at').notNull(),
    refreshToken: text('refresh_token').notNull(),
    keyId: text('key_id').notNull(),
    attempts: integer('attempts').notNull(),
    dueAt: instant('due_at').notNull(),
    enqueuedAt: instant('enqueued_at').notNull(),
    /** Who claimed the entry last; `remove` and `retryLater` act only for that claim. */
    claim: text('claim'),
  },
  (table) => [
    index('revocations_due_at_index').on(table.dueAt),
    index('revocations_key_id_index').on(table.keyId),
    check('revocations_provider_check', oneOf('provider', PROVIDERS)),
    check('revocations_reason_check', oneOf('reason', REVOCATION_REASONS)),
  ],
)

export type RevocationRow = typeof revocations.$inferSelect
export type ConnectionRow = typeof connections.$inferSelect
export type ConnectSessionRow = typeof connectSessions.$inferSelect
