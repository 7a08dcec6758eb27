/**
 * The conditions of the stores' reads and guarded writes, written once for both dialects'
 * tables: which row a user's connection is, what a compare-and-swap checks and bumps, when a
 * lease is free, what a session step requires. The stores only run them.
 */
import {
  and,
  eq,
  gt,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  ne,
  or,
  type Placeholder,
  type SQL,
  sql,
} from 'drizzle-orm'
import type { Provider } from '../cloud/models.ts'
import type * as pg from './postgres/schema.ts'
import type * as sqlite from './sqlite/schema.ts'
import type { ConnectionChanges, ConnectionRow, ConnectSessionRow, SessionGuard } from './store.ts'

type Connections = typeof sqlite.connections | typeof pg.connections
type ConnectSessions = typeof sqlite.connectSessions | typeof pg.connectSessions

export function connectionOfUser(
  table: Connections,
  userId: string | Placeholder,
  provider: Provider | Placeholder,
): SQL | undefined {
  return and(eq(table.userId, userId), eq(table.provider, provider))
}

/**
 * A connection write: with `expectedVersion`, a compare-and-swap that only matches the row at
 * that version and moves it on; without, a plain write that leaves `version` alone.
 */
export function connectionWrite(
  table: Connections,
  id: string,
  changes: ConnectionChanges,
  expectedVersion: number | undefined,
) {
  if (expectedVersion === undefined) return { set: changes, where: eq(table.id, id) }
  return {
    set: { ...changes, version: sql`${table.version} + 1` },
    where: and(eq(table.id, id), eq(table.version, expectedVersion)),
  }
}

/** Nobody holds the lease, or its holder's time ran out by `now` (the dialect's clock). */
export function leaseFree(table: Connections, id: string, now: Date | SQL): SQL | undefined {
  return and(
    eq(table.id, id),
    or(isNull(table.refreshLeaseHolder), lte(table.refreshLeaseExpiresAt, now)),
  )
}

export function leaseHeldBy(table: Connections, id: string, holder: string): SQL | undefined {
  return and(eq(table.id, id), eq(table.refreshLeaseHolder, holder))
}

export type LeaseColumns = Pick<ConnectionRow, 'refreshLeaseHolder' | 'refreshLeaseExpiresAt'>

export const LEASE_RELEASED: LeaseColumns = {
  refreshLeaseHolder: null,
  refreshLeaseExpiresAt: null,
}

export function startedWithState(
  table: ConnectSessions,
  stateHash: string,
  now: Date,
): SQL | undefined {
  return and(eq(table.stateHash, stateHash), eq(table.status, 'started'), gt(table.expiresAt, now))
}

export function sessionStep(table: ConnectSessions, id: string, guard: SessionGuard) {
  return and(
    eq(table.id, id),
    inArray(table.status, [...guard.from]),
    guard.unexpiredAt && gt(table.expiresAt, guard.unexpiredAt),
  )
}

/**
 * Expired sessions that still keep an exchanged code's grant. One being completed keeps it
 * until `completingExpiredBefore`: its completer may still store the grant as a connection.
 */
export function expiredKeepingGrant(
  table: ConnectSessions,
  expiredBefore: Date,
  completingExpiredBefore: Date,
): SQL | undefined {
  return and(
    isNotNull(table.grantedTokens),
    or(
      and(ne(table.status, 'completing'), lt(table.expiresAt, expiredBefore)),
      lt(table.expiresAt, completingExpiredBefore),
    ),
  )
}

/** The session still keeps exactly this sealed grant (a rotation or another taker changes it). */
export function keepingGrant(table: ConnectSessions, id: string, grantedTokens: string) {
  return and(eq(table.id, id), eq(table.grantedTokens, grantedTokens))
}

/** A kept grant was the row's last secret (`sealGrant` dropped the code and verifier). */
export const GRANT_TAKEN: Pick<ConnectSessionRow, 'grantedTokens' | 'keyId'> = {
  grantedTokens: null,
  keyId: null,
}

/** Purgeable: expired, and no grant left that would be lost with the row. */
export function expiredWithoutGrant(table: ConnectSessions, before: Date): SQL | undefined {
  return and(lt(table.expiresAt, before), isNull(table.grantedTokens))
}
