/**
 * Re-seals every secret that is not under the active key (contract §7 rotation). Runs online: each
 * batch is one short IMMEDIATE transaction, so live writers wait for one batch at most, and rows
 * already under the active key are skipped, so a second run (or a run after a crash) is a no-op.
 */
import { asc, eq, gt } from 'drizzle-orm'
import type { VaultDb, VaultTx } from './db.ts'
import type { KeyRing } from './key-ring.ts'
import {
  type ConnectionRow,
  type ConnectSessionRow,
  connections,
  connectSessions,
} from './schema.ts'
import { openSecret, type SecretPurpose, sealSecret } from './sealed-box.ts'
import { VaultError } from './vault-error.ts'

export interface RotationCounts {
  scanned: number
  reencrypted: number
  alreadyCurrent: number
  failed: number
}

export interface RotationReport extends RotationCounts {
  tables: Record<TableName, RotationCounts>
  /** Rows that could not be opened, with the reason: ids and key ids only, never a secret. */
  failures: Array<{ table: TableName; id: string; reason: string }>
}

export type TableName = 'connections' | 'connect_sessions'
export type Secrets = Partial<Record<SecretPurpose, string | null>>

export interface SealedRow {
  id: string
  userId: string
  provider: 'dropbox'
  keyId: string | null
}

interface TableRotation<Row extends SealedRow> {
  name: TableName
  page(tx: VaultTx, afterId: string, limit: number): Row[]
  secrets(row: Row): Secrets
  write(tx: VaultTx, row: Row, resealed: Secrets, keyId: string): void
}

const CONNECTIONS: TableRotation<ConnectionRow> = {
  name: 'connections',
  page: (tx, afterId, limit) =>
    tx
      .select()
      .from(connections)
      .where(gt(connections.id, afterId))
      .orderBy(asc(connections.id))
      .limit(limit)
      .all(),
  secrets: (row) => ({ access_token: row.accessToken, refresh_token: row.refreshToken }),
  write: (tx, row, resealed, keyId) =>
    tx
      .update(connections)
      .set({
        accessToken: resealed.access_token ?? row.accessToken,
        refreshToken: resealed.refresh_token ?? row.refreshToken,
        keyId,
      })
      .where(eq(connections.id, row.id))
      .run(),
}

const CONNECT_SESSIONS: TableRotation<ConnectSessionRow> = {
  name: 'connect_sessions',
  page: (tx, afterId, limit) =>
    tx
      .select()
      .from(connectSessions)
      .where(gt(connectSessions.id, afterId))
      .orderBy(asc(connectSessions.id))
      .limit(limit)
      .all(),
  secrets: (row) => ({ code_verifier: row.codeVerifier, authorization_code: row.code }),
  write: (tx, row, resealed, keyId) =>
    tx
      .update(connectSessions)
      .set({
        codeVerifier: resealed.code_verifier ?? row.codeVerifier,
        code: resealed.authorization_code ?? row.code,
        keyId,
      })
      .where(eq(connectSessions.id, row.id))
      .run(),
}

const IMMEDIATE = { behavior: 'immediate' } as const

export function rotateSecrets(
  db: VaultDb,
  ring: KeyRing,
  options: { batchSize?: number } = {},
): RotationReport {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const report = emptyReport()
  rotateTable(db, ring, CONNECTIONS, batchSize, report)
  rotateTable(db, ring, CONNECT_SESSIONS, batchSize, report)
  return totalled(report)
}

function rotateTable<Row extends SealedRow>(
  db: VaultDb,
  ring: KeyRing,
  table: TableRotation<Row>,
  batchSize: number,
  report: RotationReport,
): void {
  let afterId = ''
  let more = true
  while (more) {
    db.transaction((tx) => {
      const rows = table.page(tx, afterId, batchSize)
      for (const row of rows) {
        const resealed = resealForRotation(ring, table.name, row, table.secrets(row), report)
        if (resealed === null) continue
        table.write(tx, row, resealed, ring.activeKeyId)
      }
      afterId = rows.at(-1)?.id ?? afterId
      more = rows.length === batchSize
    }, IMMEDIATE)
  }
}

export function emptyReport(): RotationReport {
  return {
    ...zeroCounts(),
    tables: { connections: zeroCounts(), connect_sessions: zeroCounts() },
    failures: [],
  }
}

export function totalled(report: RotationReport): RotationReport {
  for (const counts of Object.values(report.tables)) {
    report.scanned += counts.scanned
    report.reencrypted += counts.reencrypted
    report.alreadyCurrent += counts.alreadyCurrent
    report.failed += counts.failed
  }
  return report
}

/**
 * One row's part of a rotation, shared by both adapters: the re-sealed secrets to write, or
 * null when the row is already current or cannot be opened (counted as such in `report`).
 */
export function resealForRotation(
  ring: KeyRing,
  table: TableName,
  row: SealedRow,
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
  row: SealedRow,
  present: Array<[SecretPurpose, string]>,
): Secrets {
  const resealed: Secrets = {}
  for (const [purpose, ciphertext] of present) {
    const binding = { purpose, rowId: row.id, userId: row.userId, provider: row.provider }
    const secret = openSecret(ring, { keyId: row.keyId ?? '', ciphertext }, binding)
    resealed[purpose] = sealSecret(ring, secret, binding).ciphertext
  }
  return resealed
}

function zeroCounts(): RotationCounts {
  return { scanned: 0, reencrypted: 0, alreadyCurrent: 0, failed: 0 }
}
