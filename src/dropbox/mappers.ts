/** Dropbox JSON → the neutral models. Shapes are checked: a malformed answer is a 502, not a crash. */
import { upstreamMalformed } from '../cloud/errors.ts'
import type { CloudAccount, CloudEntry, CloudListing } from '../cloud/models.ts'
import { parseRootInfo } from './root-info.ts'
import type { DropboxWorkspaceHandler } from './workspace-handler.ts'

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function toCloudAccount(raw: unknown): CloudAccount {
  if (!isObject(raw) || typeof raw.account_id !== 'string' || !isObject(raw.name)) {
    throw upstreamMalformed('users/get_current_account')
  }
  const root = parseRootInfo(raw.root_info)
  if (!root || typeof raw.email !== 'string') throw upstreamMalformed('users/get_current_account')
  const team =
    isObject(raw.team) && typeof raw.team.id === 'string'
      ? { id: raw.team.id, name: textOf(raw.team.name) }
      : null
  return {
    provider: 'dropbox',
    accountId: raw.account_id,
    displayName: textOf(raw.name.display_name),
    email: raw.email,
    emailVerified: raw.email_verified === true,
    country: typeof raw.country === 'string' ? raw.country : null,
    team,
    root,
  }
}

/**
 * A name Dropbox sends as a string, or "" for anything else. Not `String(value)`: an object
 * whose own `toString` is not a function (`{"toString": 1}` parses to one) makes that throw a
 * TypeError, which is no refusal of the answer (test/dropbox/mappers.test.ts).
 */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function isByteCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

function toEntry(raw: Json, path: string, operation = 'files/list_folder'): CloudEntry | null {
  const tag = raw['.tag']
  if (tag === 'deleted') return null
  if (
    (tag !== 'file' && tag !== 'folder') ||
    typeof raw.id !== 'string' ||
    typeof raw.name !== 'string'
  ) {
    throw upstreamMalformed(operation)
  }
  if (tag === 'folder') return { type: 'folder', id: raw.id, name: raw.name, path }
  // A byte count; JSON.parse turns `1e400` into Infinity, and the listing is serialized natively.
  if (raw.size !== undefined && !isByteCount(raw.size)) throw upstreamMalformed(operation)
  return {
    type: 'file',
    id: raw.id,
    name: raw.name,
    path,
    size: raw.size ?? 0,
    modifiedAt: typeof raw.server_modified === 'string' ? raw.server_modified : undefined,
    rev: typeof raw.rev === 'string' ? raw.rev : undefined,
    contentHash: typeof raw.content_hash === 'string' ? raw.content_hash : undefined,
  }
}

export function toCloudListing(
  raw: unknown,
  path: string | null,
  workspace: DropboxWorkspaceHandler,
): CloudListing {
  if (
    !isObject(raw) ||
    !Array.isArray(raw.entries) ||
    typeof raw.cursor !== 'string' ||
    typeof raw.has_more !== 'boolean'
  ) {
    throw upstreamMalformed('files/list_folder')
  }
  const entries: CloudEntry[] = []
  for (const item of raw.entries) {
    if (!isObject(item)) throw upstreamMalformed('files/list_folder')
    const relative = workspace.toRelativePath(
      item as { path_lower?: string; path_display?: string },
    )
    if (relative === null) continue
    const entry = toEntry(item, relative)
    if (entry) entries.push(entry)
  }
  return { path, entries, cursor: raw.cursor, hasMore: raw.has_more }
}

/**
 * One Dropbox `Metadata` (get_metadata; a download's `Dropbox-API-Result`, whose FileMetadata
 * has no `.tag`: pass `tag`) → an entry, or null when it is deleted or outside the workspace.
 */
export function toCloudEntry(
  raw: unknown,
  workspace: DropboxWorkspaceHandler,
  operation: string,
  tag?: 'file',
): CloudEntry | null {
  if (!isObject(raw)) throw upstreamMalformed(operation)
  const relative = workspace.toRelativePath(raw as { path_lower?: string; path_display?: string })
  if (relative === null) return null
  return toEntry(tag === undefined ? raw : { ...raw, '.tag': tag }, relative, operation)
}
