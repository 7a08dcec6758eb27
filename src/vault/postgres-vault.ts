/**
 * Builds the PostgreSQL-backed vault (`DATABASE_URL`, contract §11): the same ports, readiness
 * checks and rotation as `createSqliteVault`, on a connection pool that many replicas share.
 */
import type { VaultKeySpec } from '../config.ts'
import { keyRingCheck, STORED_KEY_IDS_SQL } from './key-readiness.ts'
import { KeyRing } from './key-ring.ts'
import { PgConnectionVault } from './pg-connection-vault.ts'
import { openPgVaultDatabase, type PgVaultDatabase } from './pg-db.ts'
import { rotatePgSecrets } from './pg-rotation.ts'
import { PgConnectSessionVault } from './pg-session-vault.ts'
import { TokenCache } from './token-cache.ts'
import { type Vault, vaultProbe } from './vault.ts'

export interface PostgresVaultOptions {
  /** `DATABASE_URL`: `postgres://user:password@host:port/database`. */
  url: string
  /** `VAULT_KEYS`: the first seals, all open. */
  keys: readonly VaultKeySpec[]
  clock?: () => Date
  /** Opened token sets kept in memory for `openTokens`; 0 turns the cache off. Default 1000. */
  tokenCacheSize?: number
}

export async function createPostgresVault(options: PostgresVaultOptions): Promise<Vault> {
  const ring = await KeyRing.create(options.keys)
  let database: PgVaultDatabase
  try {
    database = await openPgVaultDatabase(options.url)
  } catch (error) {
    ring.destroy()
    throw error
  }
  const clock = options.clock ?? (() => new Date())
  // Versions move on every token write on any replica, and every request reads the row's
  // version first, so a cached entry is never served for a row another replica changed.
  const cache = new TokenCache(options.tokenCacheSize ?? 1000)
  const connections = new PgConnectionVault({ db: database.db, ring, clock, cache })
  let closed = false

  return {
    connections,
    sessions: new PgConnectSessionVault({ db: database.db, ring, clock }),
    refreshLeases: connections,
    readinessChecks: [
      {
        name: 'database',
        failure: 'the database does not answer or its migrations are not applied',
        check: async () => database.checkHealth(),
      },
      {
        name: 'vault',
        failure: 'the active vault key cannot seal and open',
        check: async () => vaultProbe(ring),
      },
      keyRingCheck(
        async () =>
          (await database.client.unsafe(STORED_KEY_IDS_SQL)).map((row) => String(row.key_id)),
        ring,
      ),
    ],
    rotate: async (rotateOptions) => {
      const report = await rotatePgSecrets(database.db, ring, rotateOptions)
      cache.clear()
      return report
    },
    close: async () => {
      if (closed) return
      closed = true
      cache.clear()
      await database.close()
      ring.destroy()
    },
  }
}
