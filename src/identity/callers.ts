/**
 * Callers and their permissions (contract §2): `IDENTITY_CALLERS` names each calling service,
 * the key ids it signs with, and the operations it may call. Framework-free: the identity
 * plugin asks `callerFor(kid)` after a signature verified and `allows(caller, operation)`
 * before the route runs.
 */
import { readFileSync } from 'node:fs'

/** Every operation a `/v1` route can declare; `*` in a caller entry grants all of them. */
export const OPERATIONS = [
  'connect',
  'connection.read',
  'connection.delete',
  'me',
  'workspace.read',
] as const

export type Operation = (typeof OPERATIONS)[number]

export function isOperation(value: unknown): value is Operation {
  return typeof value === 'string' && (OPERATIONS as readonly string[]).includes(value)
}

export interface Caller {
  name: string
  operations: ReadonlySet<Operation>
  everything: boolean
}

export interface CallerSpec {
  kids: string[]
  operations: Array<Operation | '*'>
}

export type CallersConfig = Record<string, CallerSpec>

export interface Callers {
  /** False when `IDENTITY_CALLERS` is unset: every key may call everything (warned at boot). */
  readonly configured: boolean
  /** The caller whose key signed; undefined when no caller names the key. */
  callerFor(kid: string): Caller | undefined
}

/** When `IDENTITY_CALLERS` is unset every verified key acts as this caller. */
export const ANY_CALLER: Caller = { name: 'any', operations: new Set(), everything: true }

export function allows(caller: Caller, operation: Operation): boolean {
  return caller.everything || caller.operations.has(operation)
}

export function createCallers(config: CallersConfig | undefined): Callers {
  if (config === undefined) return { configured: false, callerFor: () => ANY_CALLER }
  const byKid = new Map<string, Caller>()
  for (const [name, spec] of Object.entries(config)) {
    const everything = spec.operations.includes('*')
    const operations = new Set(spec.operations.filter(isOperation))
    const caller: Caller = { name, operations, everything }
    for (const kid of spec.kids) byKid.set(kid, caller)
  }
  return { configured: true, callerFor: (kid) => byKid.get(kid) }
}

const CALLER_NAME = /^[A-Za-z0-9._-]{1,64}$/

/**
 * `IDENTITY_CALLERS`: inline JSON or the path of a JSON file. Every problem is listed; a kid
 * must belong to one caller only and exist in `IDENTITY_JWKS` (a typo would lock a caller out).
 */
export function parseCallers(
  value: string,
  jwksKids: ReadonlySet<string>,
): { callers?: CallersConfig; problems: string[] } {
  let text = value
  if (!value.startsWith('{')) {
    try {
      text = readFileSync(value, 'utf8')
    } catch {
      return {
        problems: [`IDENTITY_CALLERS is neither inline JSON nor a readable file ("${value}")`],
      }
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { problems: ['IDENTITY_CALLERS is not valid JSON'] }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problems: ['IDENTITY_CALLERS must be an object of caller name → {kids, operations}'] }
  }
  const problems: string[] = []
  const owner = new Map<string, string>()
  const callers: CallersConfig = {}
  for (const [name, raw] of Object.entries(parsed)) {
    const where = `IDENTITY_CALLERS caller "${CALLER_NAME.test(name) ? name : '?'}"`
    if (!CALLER_NAME.test(name)) problems.push(`${where}: a name must match [A-Za-z0-9._-]{1,64}`)
    const spec = raw as { kids?: unknown; operations?: unknown }
    const kids = Array.isArray(spec?.kids) ? spec.kids : undefined
    const operations = Array.isArray(spec?.operations) ? spec.operations : undefined
    if (!kids || kids.length === 0 || !kids.every((kid) => typeof kid === 'string')) {
      problems.push(`${where}: "kids" must be a non-empty array of key ids`)
      continue
    }
    if (!operations || operations.length === 0) {
      problems.push(`${where}: "operations" must be a non-empty array`)
      continue
    }
    const unknown = operations.filter((op) => op !== '*' && !isOperation(op))
    if (unknown.length > 0) {
      problems.push(
        `${where}: unknown operation(s) ${unknown.map((op) => JSON.stringify(op)).join(', ')} (allowed: ${OPERATIONS.join(', ')}, *)`,
      )
      continue
    }
    for (const kid of kids as string[]) {
      const other = owner.get(kid)
      if (other !== undefined)
        problems.push(`${where}: key id "${kid}" already belongs to "${other}"`)
      else owner.set(kid, name)
      if (!jwksKids.has(kid)) problems.push(`${where}: key id "${kid}" is not in IDENTITY_JWKS`)
    }
    callers[name] = { kids: kids as string[], operations: operations as CallerSpec['operations'] }
  }
  if (Object.keys(callers).length === 0 && problems.length === 0) {
    problems.push('IDENTITY_CALLERS names no caller')
  }
  return problems.length > 0 ? { problems } : { callers, problems }
}
