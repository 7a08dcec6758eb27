/**
 * Re-seals every secret that is not under the active key (SPEC §7 rotation). Runs online: each
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

type TableName = 'connections' | 'connect_sessions'
type Secrets = Partial<Record<SecretPurpose, string | null>>

interface SealedRow {
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
  const report: RotationReport = {
    ...zeroCounts(),
    tables: { connections: zeroCounts(), connect_sessions: zeroCounts() },
    failures: [],
  }
  rotateTable(db, ring, CONNECTIONS, batchSize, report)
  rotateTable(db, ring, CONNECT_SESSIONS, batchSize, report)
  for (const counts of Object.values(report.tables)) {
    report.scanned += counts.scanned
    report.reencrypted += counts.reencrypted
    report.alreadyCurrent += counts.alreadyCurrent
    report.failed += counts.failed
  }
  return report
}

function rotateTable<Row extends SealedRow>(
  db: VaultDb,
  ring: KeyRing,
  table: TableRotation<Row>,
  batchSize: number,
  report: RotationReport,
): void {
  const counts = report.tables[table.name]
  let afterId = ''
  let more = true
  while (more) {
    db.transaction((tx) => {
      const rows = table.page(tx, afterId, batchSize)
      for (const row of rows) {
        counts.scanned++
        const present = Object.entries(table.secrets(row)).filter(
          (entry): entry is [SecretPurpose, string] => entry[1] !== null,
        )
        if (present.length === 0 || row.keyId === ring.activeKeyId) {
          counts.alreadyCurrent++
          continue
        }
        let resealed: Secrets
        try {
          resealed = resealRow(ring, row, present)
        } catch (error) {
          if (!(error instanceof VaultError)) throw error
          counts.failed++
          report.failures.push({ table: table.name, id: row.id, reason: error.message })
          continue
        }
        table.write(tx, row, resealed, ring.activeKeyId)
        counts.reencrypted++
      }
      afterId = rows.at(-1)?.id ?? afterId
      more = rows.length === batchSize
    }, IMMEDIATE)
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
