import assert from 'node:assert/strict'
import { existsSync, statSync } from 'node:fs'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { openVault } from '../../src/vault/open-vault.ts'
import { MIGRATIONS_FOLDER, openVaultDatabase } from '../../src/vault/sqlite/db.ts'
import { VaultError } from '../../src/vault/vault-error.ts'
import { newConnection, openTestVault, tempDir, vaultKey } from './vault-test-kit.ts'

function tableNames(path: string): string[] {
  const sqlite = new Database(path, { readonly: true })
  try {
    const rows = sqlite
      .prepare("select name from sqlite_master where type = 'table' order by name")
      .all() as Array<{ name: string }>
    return rows.map((row) => row.name)
  } finally {
    sqlite.close()
  }
}

test('a fresh database is created, directory included, and migrated', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'nested', 'deeper', 'connector.db')
  const { vault } = await openTestVault(t, { path })
  await vault.connections.replace(newConnection('user-1'))
  assert.deepEqual(tableNames(path), [
    '__drizzle_migrations',
    'connect_sessions',
    'connections',
    'revocations',
  ])
})

test('the database, its WAL and shared-memory files are readable by the owner only', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'connector.db')
  // A file left world-readable by an earlier version is tightened at the next start.
  await writeFile(path, '', { mode: 0o644 })
  const { vault } = await openTestVault(t, { path })
  await vault.connections.replace(newConnection('user-1'))
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    assert.equal(statSync(file).mode & 0o777, 0o600, file)
  }
})

test('an already-migrated database opens again with its rows and no re-migration', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'connector.db')
  const keys = [vaultKey('k1')]
  const first = await openVault({ databasePath: path, keys })
  await first.connections.replace(newConnection('user-1'))
  await first.close()

  const second = await openVault({ databasePath: path, keys })
  t.after(() => second.close())
  const connection = await second.connections.findByUser('user-1', 'dropbox')
  assert.ok(connection)
  assert.equal((await second.connections.openTokens(connection)).refreshToken, 'refresh-user-1')
  const sqlite = new Database(path, { readonly: true })
  t.after(() => sqlite.close())
  const shipped = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length
  assert.deepEqual(sqlite.prepare('select count(*) as n from __drizzle_migrations').get(), {
    n: shipped,
  })
})

test('a database from before the kept grant (0003) upgrades with its sessions intact', async (t) => {
  // drizzle-kit's table rebuild selected the new column from the old table; a row without a
  // key id would then have failed the new check, and any other would have kept a junk grant.
  const dir = await tempDir(t)
  const before = join(dir, 'migrations')
  await cp(MIGRATIONS_FOLDER, before, { recursive: true })
  const journalPath = join(before, 'meta', '_journal.json')
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as {
    entries: Array<{ idx: number }>
  }
  journal.entries = journal.entries.filter((entry) => entry.idx < 3)
  await writeFile(journalPath, JSON.stringify(journal))
  const path = join(dir, 'connector.db')
  const sqlite = new Database(path)
  migrate(drizzle(sqlite), { migrationsFolder: before, migrationsTable: '__drizzle_migrations' })
  const insert = sqlite.prepare(
    "insert into connect_sessions (id, user_id, provider, connect_token_hash, code_verifier, key_id, status, expires_at, created_at) values (?, 'user-1', 'dropbox', ?, ?, ?, ?, 0, 0)",
  )
  insert.run('created', 'hash-1', null, null, 'created')
  insert.run('started', 'hash-2', 'sealed-verifier', 'k1', 'started')
  sqlite.close()

  const vault = await openVault({ databasePath: path, keys: [vaultKey('k1')] })
  t.after(() => vault.close())
  assert.equal((await vault.sessions.findById('created'))?.status, 'created')
  const upgraded = new Database(path, { readonly: true })
  t.after(() => upgraded.close())
  assert.deepEqual(
    upgraded
      .prepare('select id, code_verifier, key_id, granted_tokens from connect_sessions order by id')
      .all(),
    [
      { id: 'created', code_verifier: null, key_id: null, granted_tokens: null },
      { id: 'started', code_verifier: 'sealed-verifier', key_id: 'k1', granted_tokens: null },
    ],
  )
})

test('the connection uses WAL, synchronous=FULL, foreign keys, a busy timeout, secure delete', async (t) => {
  const dir = await tempDir(t)
  const database = openVaultDatabase(join(dir, 'connector.db'))
  t.after(() => database.close())
  const pragma = (name: string) => database.sqlite.pragma(name, { simple: true })
  assert.equal(pragma('journal_mode'), 'wal')
  assert.equal(pragma('synchronous'), 2)
  assert.equal(pragma('foreign_keys'), 1)
  assert.equal(pragma('busy_timeout'), 5000)
  assert.equal(pragma('secure_delete'), 1)
})

test('a path that cannot hold a database is a clear error naming it', async (t) => {
  const dir = await tempDir(t)
  const blocker = join(dir, 'not-a-directory')
  await writeFile(blocker, 'x')
  const path = join(blocker, 'connector.db')
  await assert.rejects(
    openVault({ databasePath: path, keys: [vaultKey('k1')] }),
    (error: unknown) => {
      assert.ok(error instanceof VaultError)
      assert.equal(error.reason, 'database')
      assert.match(error.message, /Cannot create the directory of the database/)
      assert.ok(error.message.includes(path))
      return true
    },
  )
})

test('a file that is not a database is a clear error naming it, without key material', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'connector.db')
  await writeFile(path, 'this is not an SQLite database, just a text file that is long enough')
  const key = vaultKey('k1')
  await assert.rejects(openVault({ databasePath: path, keys: [key] }), (error: unknown) => {
    assert.ok(error instanceof VaultError)
    assert.match(error.message, /Cannot use the database ".*connector\.db": file is not a database/)
    assert.ok(!error.message.includes(Buffer.from(key.secretKey).toString('base64')))
    return true
  })
})

test('a database whose schema conflicts with the migrations is a clear migration error', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'connector.db')
  const sqlite = new Database(path)
  sqlite.exec('create table connect_sessions (unrelated text)')
  sqlite.close()
  await assert.rejects(
    openVault({ databasePath: path, keys: [vaultKey('k1')] }),
    (error: unknown) => {
      assert.ok(error instanceof VaultError)
      assert.match(error.message, /^Cannot migrate the database ".*connector\.db"/)
      return true
    },
  )
})

test('keys are checked before the database file is touched', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'never-created', 'connector.db')
  await assert.rejects(openVault({ databasePath: path, keys: [] }), /Invalid vault keys: no key/)
  assert.equal(existsSync(join(dir, 'never-created')), false)
})

test('readiness: database and vault are ok while open, and say why once they are not', async (t) => {
  const { vault, path } = await openTestVault(t)
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

  const sqlite = new Database(path)
  sqlite.exec('delete from __drizzle_migrations')
  sqlite.close()
  assert.deepEqual(await run(), {
    database: 'migrations are not applied',
    vault: 'ok',
    vault_keys: 'ok',
  })

  await vault.close()
  assert.deepEqual(await run(), {
    database: 'database is closed',
    vault: 'the vault is closed',
    vault_keys: 'The database connection is not open',
  })
})
