/**
 * Re-seals every secret that is not under the active key (contract §7 rotation). Runs online: each
 * batch is one short transaction of the store (see `VaultStore.rotateBatch`), so live writers wait
 * for one batch at most, and rows already under the active key are skipped, so a second run (or a
 * run after a crash) is a no-op.
 */
import type { KeyRing } from './crypto/key-ring.ts'
import { openSecret, rowBinding, type SecretPurpose, sealSecret } from './crypto/sealed-box.ts'
import type {
  ConnectionRow,
  Reseal,
  Resealed,
  SealedRows,
  SealedTable,
  VaultStore,
} from './store.ts'
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
type TokenColumns = Pick<ConnectionRow, 'accessToken' | 'refreshToken'>

const TOKENS = {
  secrets: (row: TokenColumns): Secrets => ({
    access_token: row.accessToken,
    refresh_token: row.refreshToken,
  }),
  columns: (row: TokenColumns, resealed: Secrets): Resealed => ({
    accessToken: resealed.access_token ?? row.accessToken,
    refreshToken: resealed.refresh_token ?? row.refreshToken,
  }),
}

/** Where each table keeps its secrets: read by purpose, written back to their columns. */
const SEALED: {
  [T in SealedTable]: {
    secrets(row: SealedRows[T]): Secrets
    columns(row: SealedRows[T], resealed: Secrets): Resealed
  }
} = {
  connections: TOKENS,
  connect_sessions: {
    secrets: (row) => ({
      code_verifier: row.codeVerifier,
      authorization_code: row.code,
      granted_tokens: row.grantedTokens,
    }),
    columns: (row, resealed) => ({
      codeVerifier: resealed.code_verifier ?? row.codeVerifier,
      code: resealed.authorization_code ?? row.code,
      grantedTokens: resealed.granted_tokens ?? row.grantedTokens,
    }),
  },
  // Queued grants hold the same two tokens as a connection, bound to their queue row.
  revocations: TOKENS,
}

const SEALED_TABLES = Object.keys(SEALED) as SealedTable[]

export async function rotateSecrets(
  store: VaultStore,
  ring: KeyRing,
  options: { batchSize?: number } = {},
): Promise<RotationReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const report = emptyReport()
  for (const table of SEALED_TABLES) {
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
  const sealed = SEALED[table]
  return (row) => {
    const resealed = resealForRotation(ring, table, row, sealed.secrets(row), report)
    if (resealed === null) return null
    return { ...sealed.columns(row, resealed), keyId: ring.activeKeyId }
  }
}

function emptyReport(): RotationReport {
  return {
    ...zeroCounts(),
    tables: Object.fromEntries(
      SEALED_TABLES.map((table) => [table, zeroCounts()]),
    ) as RotationReport['tables'],
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
