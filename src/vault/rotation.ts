/**
 * Re-seals every secret that is not under the active key (contract §7 rotation). Runs online: each
 * batch is one short transaction of the store (see `VaultStore.rotateBatch`), so live writers wait
 * for one batch at most, and rows already under the active key are skipped, so a second run (or a
 * run after a crash) is a no-op.
 */
import type { KeyRing } from './crypto/key-ring.ts'
import { openSecret, rowBinding, type SecretPurpose, sealSecret } from './crypto/sealed-box.ts'
import type { Reseal, Resealed, SealedRows, SealedTable, VaultStore } from './store.ts'
import { VaultError } from './vault-error.ts'

export interface RotationCounts {
  scanned: number
  reencrypted: number
  alreadyCurrent: number
  failed: number
}

export interface RotationReport extends RotationCounts {
  tables: Record<SealedTable, RotationCounts>
  /** Rows that could not be opened, with the reason: ids and key ids only, never a secret. */
  failures: Array<{ table: SealedTable; id: string; reason: string }>
}

type Secrets = Partial<Record<SecretPurpose, string | null>>

/** Where each table keeps its secrets: the purpose of every sealed column. */
const SEALED_COLUMNS = {
  connections: { access_token: 'accessToken', refresh_token: 'refreshToken' },
  connect_sessions: { code_verifier: 'codeVerifier', authorization_code: 'code' },
} as const satisfies { [T in SealedTable]: Partial<Record<SecretPurpose, keyof SealedRows[T]>> }

export async function rotateSecrets(
  store: VaultStore,
  ring: KeyRing,
  options: { batchSize?: number } = {},
): Promise<RotationReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const report = emptyReport()
  for (const table of ['connections', 'connect_sessions'] as const) {
    const reseal = resealer(ring, table, report)
    for (let afterId = '', more = true; more; ) {
      const rows = await store.rotateBatch(table, afterId, batchSize, reseal)
      afterId = rows.at(-1)?.id ?? afterId
      more = rows.length === batchSize
    }
  }
  await store.afterRotation()
  return totalled(report)
}

/** The batch body: synchronous, since SQLite runs it inside its transaction. */
function resealer<T extends SealedTable>(
  ring: KeyRing,
  table: T,
  report: RotationReport,
): Reseal<T> {
  const columns: Partial<Record<SecretPurpose, string>> = SEALED_COLUMNS[table]
  return (row) => {
    const fields = row as unknown as Record<string, string | null>
    const secrets: Secrets = {}
    for (const [purpose, column] of Object.entries(columns)) {
      secrets[purpose as SecretPurpose] = fields[column] ?? null
    }
    const resealed = resealForRotation(ring, table, row, secrets, report)
    if (resealed === null) return null
    const changes: Record<string, string> = { keyId: ring.activeKeyId }
    for (const [purpose, column] of Object.entries(columns)) {
      const value = resealed[purpose as SecretPurpose]
      if (value) changes[column] = value
    }
    return changes as Resealed
  }
}

function emptyReport(): RotationReport {
  return {
    ...zeroCounts(),
    tables: { connections: zeroCounts(), connect_sessions: zeroCounts() },
    failures: [],
  }
}

function totalled(report: RotationReport): RotationReport {
  for (const counts of Object.values(report.tables)) {
    report.scanned += counts.scanned
    report.reencrypted += counts.reencrypted
    report.alreadyCurrent += counts.alreadyCurrent
    report.failed += counts.failed
  }
  return report
}

/**
 * One row's part of a rotation: the re-sealed secrets to write, or null when the row is
 * already current or cannot be opened (counted as such in `report`).
 */
function resealForRotation(
  ring: KeyRing,
  table: SealedTable,
  row: SealedRows[SealedTable],
  secrets: Secrets,
  report: RotationReport,
): Secrets | null {
  const counts = report.tables[table]
  counts.scanned++
  const present = Object.entries(secrets).filter(
    (entry): entry is [SecretPurpose, string] => entry[1] !== null,
  )
  if (present.length === 0 || row.keyId === ring.activeKeyId) {
    counts.alreadyCurrent++
    return null
  }
  try {
    const resealed = resealRow(ring, row, present)
    counts.reencrypted++
    return resealed
  } catch (error) {
    if (!(error instanceof VaultError)) throw error
    counts.failed++
    report.failures.push({ table, id: row.id, reason: error.message })
    return null
  }
}

function resealRow(
  ring: KeyRing,
  row: SealedRows[SealedTable],
  present: Array<[SecretPurpose, string]>,
): Secrets {
  const resealed: Secrets = {}
  for (const [purpose, ciphertext] of present) {
    const binding = rowBinding(row, purpose)
    const secret = openSecret(ring, { keyId: row.keyId ?? '', ciphertext }, binding)
    resealed[purpose] = sealSecret(ring, secret, binding).ciphertext
  }
  return resealed
}

function zeroCounts(): RotationCounts {
  return { scanned: 0, reencrypted: 0, alreadyCurrent: 0, failed: 0 }
}
