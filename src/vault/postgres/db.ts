/**
 * Opens the PostgreSQL pool (`DATABASE_URL`, contract §11) and brings its schema up to date.
 * Replicas boot together, so migrations run under a session advisory lock on a connection of
 * their own: one replica migrates, the others wait and then find nothing left to do. Failures
 * name the host and database, never the password.
 */
import { fileURLToPath } from 'node:url'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { describeCause, VaultError } from '../vault-error.ts'
import * as schema from './schema.ts'

export const PG_MIGRATIONS_FOLDER = fileURLToPath(
  new URL('../../../drizzle/postgres', import.meta.url),
)
const MIGRATIONS_SCHEMA = 'drizzle'
const MIGRATIONS_TABLE = '__drizzle_migrations'
/** Any fixed 64-bit number: the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 7_401_913_305_118_221n
const POOL_SIZE = 10

export type PgVaultDb = PostgresJsDatabase<typeof schema>

export interface PgVaultDatabase {
  /** `host:port/database`, safe to log. */
  target: string
  client: postgres.Sql
  db: PgVaultDb
  /** Throws unless the pool answers and every migration shipped with the code is applied. */
  checkHealth(): Promise<void>
  close(): Promise<void>
}

export async function openPgVaultDatabase(url: string): Promise<PgVaultDatabase> {
  const target = describeTarget(url)
  const options = { onnotice: () => {}, connect_timeout: 10 } as const
  let expected: number
  try {
    expected = latestShippedMigration()
  } catch (error) {
    throw new VaultError('database', `Cannot read the migrations in "${PG_MIGRATIONS_FOLDER}"`, {
      cause: error,
    })
  }
  const migrator = postgres(url, { ...options, max: 1 })
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`
    await migrate(drizzle({ client: migrator }), {
      migrationsFolder: PG_MIGRATIONS_FOLDER,
      migrationsSchema: MIGRATIONS_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
    })
  } catch (error) {
    throw new VaultError(
      'database',
      `Cannot migrate the database ${target}: ${describeCause(error)}`,
      {
        cause: error,
      },
    )
  } finally {
    // Ending the session releases the advisory lock too.
    await migrator.end({ timeout: 5 }).catch(() => {})
  }

  const client = postgres(url, { ...options, max: POOL_SIZE })
  const db = drizzle({ client, schema })
  let closed = false
  return {
    target,
    client,
    db,
    async checkHealth() {
      if (closed) throw new Error('database is closed')
      const [row] = await client<[{ latest: string | null }]>`
        select max(created_at)::text as latest from ${client(MIGRATIONS_SCHEMA)}.${client(MIGRATIONS_TABLE)}`
      if (Number(row?.latest ?? 0) < expected) throw new Error('migrations are not applied')
    },
    async close() {
      if (closed) return
      closed = true
      await client.end({ timeout: 5 })
    },
  }
}

function latestShippedMigration(): number {
  const migrations = readMigrationFiles({ migrationsFolder: PG_MIGRATIONS_FOLDER })
  return Math.max(0, ...migrations.map((migration) => migration.folderMillis))
}

function describeTarget(url: string): string {
  try {
    const parsed = new URL(url)
    return `"${parsed.host}${parsed.pathname}"`
  } catch {
    return '(unparseable DATABASE_URL)'
  }
}
