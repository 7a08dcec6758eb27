/**
 * `Dropbox-API-Path-Root` (dropbox.com/developers/reference/path-root-header-modes):
 * absent or `home` → the home namespace; `root` → the user's root, or 422 `invalid_root`
 * with the current root info when it moved; `namespace_id` → that namespace, or 422
 * `no_permission` when the user cannot reach it.
 */
import type { Account } from './accounts.ts'
import { ArgError, typeName } from './arg-validation.ts'
import { isVisibleTo, type NamespaceTree } from './file-tree.ts'

export type PathRoot =
  | { tag: 'home' }
  | { tag: 'root'; id: string }
  | { tag: 'namespace_id'; id: string }

const NAMESPACE_ID = /^[-_0-9a-zA-Z:]+$/
const HOME: PathRoot = { tag: 'home' }

/** Throws ArgError (a 400) for a header that is not a PathRoot. */
export function parsePathRoot(raw: string | undefined): PathRoot {
  if (raw === undefined) return HOME
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new ArgError('could not decode input as JSON')
  }
  // A void union member may be given as its bare tag (Dropbox's JSON encoding rules).
  if (value === 'home') return HOME
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgError(`expected object, got ${typeName(value)}`)
  }
  const fields = value as Record<string, unknown>
  const tag = fields['.tag']
  if (typeof tag !== 'string') throw new ArgError("missing required field '.tag'")
  switch (tag) {
    case 'home':
      onlyFields(fields, [])
      return HOME
    case 'root':
      onlyFields(fields, ['root'])
      return { tag, id: namespaceId(fields, 'root') }
    case 'namespace_id':
      onlyFields(fields, ['namespace_id'])
      return { tag, id: namespaceId(fields, 'namespace_id') }
    default:
      throw new ArgError(`unknown tag '${tag}'`)
  }
}

function onlyFields(fields: Record<string, unknown>, allowed: string[]): void {
  for (const name of Object.keys(fields)) {
    if (name !== '.tag' && !allowed.includes(name)) throw new ArgError(`unknown field '${name}'`)
  }
}

function namespaceId(fields: Record<string, unknown>, name: string): string {
  const value = fields[name]
  if (value === undefined) throw new ArgError(`missing required field '${name}'`)
  if (typeof value !== 'string')
    throw new ArgError(`${name}: expected string, got ${typeName(value)}`)
  if (!NAMESPACE_ID.test(value)) {
    throw new ArgError(
      `${name}: '${value}' did not match pattern '${NAMESPACE_ID.source.slice(1, -1)}'`,
    )
  }
  return value
}

export type RootResolution =
  | { ok: true; ns: NamespaceTree }
  | { ok: false; tags: string[]; error: Record<string, unknown> }

export function resolvePathRoot(
  account: Account,
  pathRoot: PathRoot,
  namespaces: ReadonlyMap<string, NamespaceTree>,
): RootResolution {
  if (pathRoot.tag === 'home') return { ok: true, ns: account.homeNs }
  if (pathRoot.tag === 'root') {
    if (pathRoot.id === account.rootNs.id) return { ok: true, ns: account.rootNs }
    return {
      ok: false,
      tags: ['invalid_root'],
      error: { '.tag': 'invalid_root', invalid_root: account.rootInfo },
    }
  }
  const ns = namespaces.get(pathRoot.id)
  if (ns !== undefined && canReach(account, ns)) return { ok: true, ns }
  return { ok: false, tags: ['no_permission'], error: { '.tag': 'no_permission' } }
}

/** The user's root, home, or a namespace mounted (visibly to them) under their root. */
export function canReach(account: Account, ns: NamespaceTree): boolean {
  let current: NamespaceTree = ns
  for (;;) {
    if (current === account.rootNs || current === account.homeNs) return true
    const mountedAt = current.mountedAt
    if (mountedAt === null || !isVisibleTo(mountedAt, account.accountId)) return false
    current = mountedAt.namespace
  }
}
