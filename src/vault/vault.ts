/**
 * What the vault hands the app, and how it is built from a key ring and a store: the two ports,
 * the refresh leases, readiness checks, rotation and close. `open-vault.ts` picks the store.
 */
import type { Clock } from '../clock.ts'
import type { ReadinessCheck } from '../observability/readiness.ts'
import { StoredConnectionVault } from './connection-vault.ts'
import type { KeyRing } from './crypto/key-ring.ts'
import { openSecret, sealSecret } from './crypto/sealed-box.ts'
import type { ConnectionVault, ConnectSessionVault, RefreshLeases } from './ports.ts'
import { type RotationReport, rotateSecrets } from './rotation.ts'
import { StoredConnectSessionVault } from './session-vault.ts'
import type { VaultStore } from './store.ts'
import { TokenCache } from './token-cache.ts'

export interface Vault {
  connections: ConnectionVault
  sessions: ConnectSessionVault
  /** Cross-process refresh single-flight (contract §11); see `src/cloud/token-refresher.ts`. */
  refreshLeases: RefreshLeases
  /** `database` (answers, migrations applied) and `vault` (the active key seals and opens). */
  readinessChecks: ReadinessCheck[]
  /** Re-seals every secret not under the active key; see `npm run vault:rotate`. */
  rotate(options?: { batchSize?: number }): Promise<RotationReport>
  /** Closes the database and wipes the keys from memory. Idempotent. */
  close(): Promise<void>
}

export interface VaultOptions {
  clock?: Clock
  /** Opened token sets kept in memory for `openTokens`; 0 turns the cache off. Default 1000. */
  tokenCacheSize?: number
}

export function assembleVault(store: VaultStore, ring: KeyRing, options: VaultOptions): Vault {
  const deps = { store, ring, clock: options.clock ?? Date.now }
  const cache = new TokenCache(options.tokenCacheSize ?? 1000)
  const connections = new StoredConnectionVault({ ...deps, cache })
  let closed = false
  return {
    connections,
    sessions: new StoredConnectSessionVault(deps),
    refreshLeases: connections,
    readinessChecks: [
      { name: 'database', check: () => store.checkHealth() },
      { name: 'vault', check: async () => vaultProbe(ring) },
    ],
    rotate: async (rotateOptions) => {
      const report = await rotateSecrets(store, ring, rotateOptions)
      cache.clear()
      return report
    },
    close: async () => {
      if (closed) return
      closed = true
      cache.clear()
      await store.close()
      ring.destroy()
    },
  }
}

const PROBE_BINDING = {
  purpose: 'readiness_probe',
  rowId: 'readiness-probe',
  userId: 'readiness-probe',
  provider: 'dropbox',
} as const

/** The `vault` readiness check: the active key seals and opens a probe. */
function vaultProbe(ring: KeyRing): void {
  const probe = 'probe'
  const sealed = sealSecret(ring, probe, PROBE_BINDING)
  if (openSecret(ring, sealed, PROBE_BINDING) !== probe) {
    throw new Error('the active vault key does not open its own probe')
  }
}
