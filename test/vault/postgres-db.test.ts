/**
 * The PostgreSQL store itself (contract §11): migrations at boot, also when replicas boot together,
 * readiness on the pool, and clear errors. Always runs: PostgreSQL is part of the test machine.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { getTableConfig as pgTableConfig } from 'drizzle-orm/pg-core'
import { getTableConfig as sqliteTableConfig } from 'drizzle-orm/sqlite-core'
import { openVault } from '../../src/vault/open-vault.ts'
import { PG_MIGRATIONS_FOLDER } from '../../src/vault/postgres/db.ts'
import * as pg from '../../src/vault/postgres/schema.ts'
import * as sqlite from '../../src/vault/sqlite/schema.ts'
import { VaultError } from '../../src/vault/vault-error.ts'
import { freshDatabase, rawPostgres } from '../postgres.ts'
import { newConnection, tokenSet, vaultKey } from './vault-test-kit.ts'

test('replicas booting together on an empty database migrate it once and share it', async (t) => {
  const url = await freshDatabase()
  const keys = [vaultKey('k1')]
  const vaults = await Promise.all(
    Array.from({ length: 4 }, () => openVault({ databaseUrl: url, keys, tokenCacheSize: 0 })),
  )
  for (const vault of vaults) t.after(() => vault.close())

  const sql = rawPostgres(t, url)
  const tables = await sql`
    select table_schema || '.' || table_name as name from information_schema.tables
    where table_schema in ('public', 'drizzle') order by name`
  assert.deepEqual(
    tables.map((row) => row.name),
    [
      'drizzle.__drizzle_migrations',
      'public.connect_sessions',
      'public.connections',
      'public.revocations',
    ],
  )
  const [applied] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`
  assert.equal(applied?.n, readMigrationFiles({ migrationsFolder: PG_MIGRATIONS_FOLDER }).length)

  const [first, second] = vaults
  assert.ok(first && second)
  await first.connections.replace(newConnection('user-1'))
  const seen = await second.connections.findByUser('user-1', 'dropbox')
  assert.ok(seen)
  assert.deepEqual(await second.connections.openTokens(seen), tokenSet('user-1'))
})

test('timestamps and scopes round-trip exactly in native PostgreSQL types', async (t) => {
  const url = await freshDatabase()
  const vault = await openVault({ databaseUrl: url, keys: [vaultKey('k1')], tokenCacheSize: 0 })
  t.after(() => vault.close())
  const expiresAt = new Date('2026-11-25T14:00:00.123Z')
  const { connection } = await vault.connections.replace(
    newConnection('user-1', tokenSet('a', expiresAt)),
  )
  assert.equal(
    (await vault.connections.openTokens(connection)).accessTokenExpiresAt.getTime(),
    expiresAt.getTime(),
  )
  const [row] = await rawPostgres(t, url)`
    select pg_typeof(access_token_expires_at)::text as expiry, jsonb_typeof(scopes) as scopes
    from connections`
  assert.deepEqual({ ...row }, { expiry: 'timestamp with time zone', scopes: 'array' })
})

test('readiness: database and vault are ok while open, and say why once they are not', async (t) => {
  const url = await freshDatabase()
  const vault = await openVault({ databaseUrl: url, keys: [vaultKey('k1')] })
  t.after(() => vault.close())
  const run = async () => {
    const results: Record<string, string> = {}
    for (const { name, check } of vault.readinessChecks) {
      results[name] = await check().then(
        () => 'ok',
        (error: Error) => error.message,
      )
    }
    return results
  }
  assert.deepEqual(await run(), { database: 'ok', vault: 'ok', vault_keys: 'ok' })
  await rawPostgres(t, url)`delete from drizzle.__drizzle_migrations`
  assert.deepEqual(await run(), {
    database: 'migrations are not applied',
    vault: 'ok',
    vault_keys: 'ok',
  })
  await vault.close()
  const closed = await run()
  assert.equal(closed.database, 'database is closed')
  assert.equal(closed.vault, 'the vault is closed')
  assert.match(closed.vault_keys as string, /CONNECTION_ENDED/)
})

test('an unreachable server is a clear error naming host and database, never the password', async () => {
  const url = 'postgres://someone:hunter2-secret@127.0.0.1:1/connector'
  await assert.rejects(
    openVault({ databaseUrl: url, keys: [vaultKey('k1')] }),
    (error: unknown) => {
      assert.ok(error instanceof VaultError)
      assert.equal(error.reason, 'database')
      assert.match(error.message, /^Cannot migrate the database "127\.0\.0\.1:1\/connector": /)
      assert.ok(!error.message.includes('hunter2'))
      return true
    },
  )
})

test('the PostgreSQL schema has the same tables, columns, indexes and checks as the SQLite one', () => {
  const describePg = (table: Parameters<typeof pgTableConfig>[0]) => {
    const config = pgTableConfig(table)
    return {
      name: config.name,
      columns: config.columns.map((c) => [c.name, c.notNull, c.primary]).sort(),
      indexes: config.indexes.map((i) => i.config.name).sort(),
      checks: config.checks.map((c) => c.name).sort(),
    }
  }
  const describeSqlite = (table: Parameters<typeof sqliteTableConfig>[0]) => {
    const config = sqliteTableConfig(table)
    return {
      name: config.name,
      columns: config.columns.map((c) => [c.name, c.notNull, c.primary]).sort(),
      indexes: config.indexes.map((i) => i.config.name).sort(),
      checks: config.checks.map((c) => c.name).sort(),
    }
  }
  assert.deepEqual(describePg(pg.connections), describeSqlite(sqlite.connections))
  assert.deepEqual(describePg(pg.connectSessions), describeSqlite(sqlite.connectSessions))
})
