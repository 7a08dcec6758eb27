import type { RootInfo } from '../cloud/models.ts'

interface DropboxRootInfo {
  '.tag'?: unknown
  root_namespace_id?: unknown
  home_namespace_id?: unknown
  home_path?: unknown
}

/** Dropbox's `root_info` (users/get_current_account, or a 422 `invalid_root`) → RootInfo. */
export function parseRootInfo(value: unknown): RootInfo | null {
  if (typeof value !== 'object' || value === null) return null
  const root = value as DropboxRootInfo
  if (root['.tag'] !== 'user' && root['.tag'] !== 'team') return null
  if (typeof root.root_namespace_id !== 'string' || typeof root.home_namespace_id !== 'string')
    return null
  return {
    type: root['.tag'],
    rootNamespaceId: root.root_namespace_id,
    homeNamespaceId: root.home_namespace_id,
    homePath: typeof root.home_path === 'string' ? root.home_path : null,
  }
}

/**
 * `Dropbox-API-Path-Root` for the account: only when the root differs from home (a team space),
 * so paths resolve from the team root (contract §4). Never taken from a caller.
 */
export function pathRootHeader(rootInfo: RootInfo): string | undefined {
  if (rootInfo.rootNamespaceId === rootInfo.homeNamespaceId) return undefined
  return JSON.stringify({ '.tag': 'root', root: rootInfo.rootNamespaceId })
}
