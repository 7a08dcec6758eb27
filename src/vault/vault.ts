/**
 * What either adapter hands the app: the two ports, the refresh leases, readiness checks,
 * rotation and close. `open-vault.ts` picks the adapter from the configuration.
 */
import type { ReadinessCheck } from '../http/routes/operations.ts'
import type { KeyRing } from './key-ring.ts'
import type { ConnectionVault, ConnectSessionVault, RefreshLeases } from './ports.ts'
import type { RotationReport } from './rotation.ts'
import { openSecret, sealSecret } from './sealed-box.ts'

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

const PROBE_BINDING = {
  purpose: 'readiness_probe',
  rowId: 'readiness-probe',
  userId: 'readiness-probe',
  provider: 'dropbox',
} as const

/** The `vault` readiness check of both adapters: the active key seals and opens a probe. */
export function vaultProbe(ring: KeyRing): void {
  const probe = 'probe'
  const sealed = sealSecret(ring, probe, PROBE_BINDING)
  if (openSecret(ring, sealed, PROBE_BINDING) !== probe) {
    throw new Error('the active vault key does not open its own probe')
  }
}
