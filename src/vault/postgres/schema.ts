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
    keyId: text('key_id'),
    status: text('status', { enum: SESSION_STATUSES }).notNull(),
    errorCode: text('error_code'),
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

export type ConnectionRow = typeof connections.$inferSelect
export type ConnectSessionRow = typeof connectSessions.$inferSelect
