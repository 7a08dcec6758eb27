/**
 * Rotation on PostgreSQL (contract §7), online like the SQLite one: each batch is one short
 * transaction that locks its rows (`FOR UPDATE`), so a refresh committing on another replica
 * waits for the batch instead of having its new tokens overwritten by re-sealed old ones.
 */
import { asc, eq, gt } from 'drizzle-orm'
import type { KeyRing } from './key-ring.ts'
import type { PgVaultDb } from './pg-db.ts'
import { connections, connectSessions } from './pg-schema.ts'
import { emptyReport, type RotationReport, resealForRotation, totalled } from './rotation.ts'

export async function rotatePgSecrets(
  db: PgVaultDb,
  ring: KeyRing,
  options: { batchSize?: number } = {},
): Promise<RotationReport> {
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 100))
  const report = emptyReport()
  for (let afterId = '', more = true; more; ) {
    await db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(connections)
        .where(gt(connections.id, afterId))
        .orderBy(asc(connections.id))
        .limit(batchSize)
        .for('update')
      for (const row of rows) {
        const secrets = { access_token: row.accessToken, refresh_token: row.refreshToken }
        const resealed = resealForRotation(ring, 'connections', row, secrets, report)
        if (resealed === null) continue
        await tx
          .update(connections)
          .set({
            accessToken: resealed.access_token ?? row.accessToken,
            refreshToken: resealed.refresh_token ?? row.refreshToken,
            keyId: ring.activeKeyId,
          })
          .where(eq(connections.id, row.id))
      }
      afterId = rows.at(-1)?.id ?? afterId
      more = rows.length === batchSize
    })
  }
  for (let afterId = '', more = true; more; ) {
    await db.transaction(async (tx) => {
      const rows = await tx
        .select()
        .from(connectSessions)
        .where(gt(connectSessions.id, afterId))
        .orderBy(asc(connectSessions.id))
        .limit(batchSize)
        .for('update')
      for (const row of rows) {
        const secrets = { code_verifier: row.codeVerifier, authorization_code: row.code }
        const resealed = resealForRotation(ring, 'connect_sessions', row, secrets, report)
        if (resealed === null) continue
        await tx
          .update(connectSessions)
          .set({
            codeVerifier: resealed.code_verifier ?? row.codeVerifier,
            code: resealed.authorization_code ?? row.code,
            keyId: ring.activeKeyId,
          })
          .where(eq(connectSessions.id, row.id))
      }
      afterId = rows.at(-1)?.id ?? afterId
      more = rows.length === batchSize
    })
  }
  return totalled(report)
}
