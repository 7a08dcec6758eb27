/** The revocation queue's conditions, once for both dialects' tables (see `guards.ts`). */
import { and, asc, eq, lte } from 'drizzle-orm'
import type * as pg from './postgres/schema.ts'
import type * as sqlite from './sqlite/schema.ts'

type Revocations = typeof sqlite.revocations | typeof pg.revocations

export function dueAt(table: Revocations, now: Date) {
  return { where: lte(table.dueAt, now), orderBy: asc(table.dueAt) }
}

/** Still due: nobody claimed it since it was read, or the last claimer's lease ran out. */
export function claimable(table: Revocations, id: string, now: Date) {
  return and(eq(table.id, id), lte(table.dueAt, now))
}

export function claimedBy(table: Revocations, id: string, claim: string) {
  return and(eq(table.id, id), eq(table.claim, claim))
}
