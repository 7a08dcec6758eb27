/**
 * Opens the SQLite file with the settings contract §7 asks for and brings its schema up to date.
 * Failures name the path and the cause, never data, so the operator can act on the message.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { describeCause, VaultError } from '../vault-error.ts'
import * as schema from './schema.ts'

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle/sqlite', import.meta.url))
const MIGRATIONS_TABLE = '__drizzle_migrations'
export const BUSY_TIMEOUT_MS = 5000

export type VaultDb = BetterSQLite3Database<typeof schema>
export type VaultTx = Parameters<Parameters<VaultDb['transaction']>[0]>[0]

export interface VaultDatabase {
  path: string
  sqlite: Database.Database
  db: VaultDb
  /** Throws unless the DB answers and every migration shipped with the code is applied. */
  checkHealth(): void
  close(): void
}

export function openVaultDatabase(path: string): VaultDatabase {
  try {
    mkdirSync(dirname(path), { recursive: true })
  } catch (error) {
    throw new VaultError('database', `Cannot create the directory of the database "${path}"`, {
      cause: error,
    })
  }
  let sqlite: Database.Database
  try {
    sqlite = new Database(path, { timeout: BUSY_TIMEOUT_MS })
  } catch (error) {
    throw new VaultError(
      'database',
      `Cannot open the database "${path}": ${describeCause(error)}`,
      {
        cause: error,
      },
    )
  }
  try {
    applyPragmas(sqlite)
  } catch (error) {
    sqlite.close()
    throw new VaultError('database', `Cannot use the database "${path}": ${describeCause(error)}`, {
      cause: error,
    })
  }
  const db = drizzle({ client: sqlite, schema })
  let expected: number
  try {
    expected = latestShippedMigration()
  } catch (error) {
    sqlite.close()
    throw new VaultError('database', `Cannot read the migrations in "${MIGRATIONS_FOLDER}"`, {
      cause: error,
    })
  }
  try {
    migrate(db, { migrationsFolder: MIGRATIONS_FOLDER, migrationsTable: MIGRATIONS_TABLE })
  } catch (error) {
    // Another process (a replica or the rotate CLI) may have applied them first: drizzle reads
    // the applied list outside its transaction, so the loser fails on CREATE TABLE.
    if (latestAppliedMigration(sqlite) < expected) {
      sqlite.close()
      throw new VaultError(
        'database',
        `Cannot migrate the database "${path}": ${describeCause(error)}`,
        {
          cause: error,
        },
      )
    }
  }
  const probe = sqlite.prepare('select 1 as ok')
  return {
    path,
    sqlite,
    db,
    checkHealth() {
      if (!sqlite.open) throw new Error('database is closed')
      probe.get()
      if (latestAppliedMigration(sqlite) < expected) throw new Error('migrations are not applied')
    },
    close() {
      if (sqlite.open) sqlite.close()
    },
  }
}

function applyPragmas(sqlite: Database.Database): void {
  const journalMode = sqlite.pragma('journal_mode = WAL', { simple: true })
  if (journalMode !== 'wal') throw new Error(`journal_mode is "${String(journalMode)}", not WAL`)
  // FULL: a committed token refresh survives power loss, not only a process crash.
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`)
  // Erased and rotated-away ciphertexts are overwritten, not left in free pages.
  sqlite.pragma('secure_delete = ON')
}

function latestShippedMigration(): number {
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER })
  return Math.max(0, ...migrations.map((migration) => migration.folderMillis))
}

function latestAppliedMigration(sqlite: Database.Database): number {
  const table = sqlite
    .prepare("select 1 from sqlite_master where type = 'table' and name = ?")
    .get(MIGRATIONS_TABLE)
  if (!table) return 0
  const row = sqlite.prepare(`select max(created_at) as latest from ${MIGRATIONS_TABLE}`).get() as {
    latest: number | null
  }
  return Number(row.latest ?? 0)
}
