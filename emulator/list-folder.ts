/**
 * Listing a folder: the first call takes a snapshot (the tree's change sequence number) and
 * pages through it in a stable order; once `has_more` is false the cursor reports changes
 * after that snapshot (files.stone: "Pass the cursor into list_folder/continue to see what's
 * changed in the folder since your previous query").
 */
import { contentHash, contentSeed } from './content.ts'
import { encodeCursor, type ListCursor } from './cursor.ts'
import { container, isVisibleTo, type NodePath, reachablePath, type TreeNode } from './file-tree.ts'
import { canReach } from './path-root.ts'
import type { RpcContext } from './rpc.ts'

export interface Item {
  node: TreeNode
  lower: string
  display: string
}

export type Resolved =
  | { ok: true; node: TreeNode; prefix: NodePath }
  | { ok: false; tag: 'not_found' | 'not_folder' | 'malformed_path' }

const NOT_FOUND = { ok: false, tag: 'not_found' } as const

/** `path` already matched files.stone's `PathROrId` pattern. */
export function resolveFolder(ctx: RpcContext, path: string): Resolved {
  const resolved = resolve(ctx, path)
  if (resolved.ok && resolved.node.type !== 'folder') return { ok: false, tag: 'not_folder' }
  return resolved
}

/** Any file or folder by `path` (already matched against the route's path pattern). */
export function resolve(ctx: RpcContext, path: string): Resolved {
  const accountId = ctx.account.accountId
  if (path === '') return { ok: true, node: ctx.root.root, prefix: { lower: '', display: '' } }
  if (path.startsWith('id:')) {
    const node = ctx.state.tree.byId.get(path)
    const prefix =
      node === undefined || node.deleted ? null : reachablePath(node, ctx.root, accountId)
    return prefix === null || node === undefined ? NOT_FOUND : { ok: true, node, prefix }
  }
  if (path.startsWith('ns:')) {
    const slash = path.indexOf('/')
    const ns = ctx.state.tree.namespaces.get(slash < 0 ? path.slice(3) : path.slice(3, slash))
    if (ns === undefined || !canReach(ctx.account, ns)) return NOT_FOUND
    const rest = slash < 0 ? '' : path.slice(slash)
    const base = reachablePath(ns.root, ctx.root, accountId) ?? { lower: '', display: '' }
    return walk(ns.root, rest, base, accountId)
  }
  return walk(ctx.root.root, path, { lower: '', display: '' }, accountId)
}

/**
 * Follows `path` (`/a/b`, case-insensitive). The answer's `path_display` keeps the request's
 * case for the listed folder: Dropbox's `path_display` is not guaranteed to carry the right
 * case for parents (files.stone), and tests should see that.
 */
function walk(start: TreeNode, path: string, base: NodePath, accountId: string): Resolved {
  if (path === '') return { ok: true, node: start, prefix: base }
  const segments = path.slice(1).split('/')
  // Trailing slashes, `//`, `.` and `..`: unverified at Dropbox; refusing them is the stricter choice.
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    return { ok: false, tag: 'malformed_path' }
  let node = start
  for (const segment of segments) {
    const next = container(node).index?.get(segment.toLowerCase())
    if (next === undefined || next.deleted || !isVisibleTo(next, accountId)) return NOT_FOUND
    node = next
  }
  return {
    ok: true,
    node,
    prefix: { lower: base.lower + path.toLowerCase(), display: base.display + path },
  }
}

function* walkTree(
  folder: TreeNode,
  pl: string,
  pd: string,
  cursor: ListCursor,
  accountId: string,
  include: (node: TreeNode) => boolean,
): Generator<Item> {
  const children = container(folder).children
  if (children === null) return
  for (const child of children) {
    if (!isVisibleTo(child, accountId) || !include(child)) continue
    if (child.mount !== null && !cursor.mf) continue
    const lower = `${pl}/${child.lower}`
    const display = `${pd}/${child.name}`
    yield { node: child, lower, display }
    if (cursor.r && child.type === 'folder')
      yield* walkTree(child, lower, display, cursor, accountId, include)
  }
}

export interface ListResult {
  entries: Array<Record<string, unknown>>
  cursor: string
  has_more: boolean
}

export function snapshotPage(ctx: RpcContext, folder: TreeNode, cursor: ListCursor): ListResult {
  const seq = cursor.s
  const includeDeleted = cursor.d
  // Positions count every node that existed at the snapshot, so later changes never shift a page.
  const existed = (node: TreeNode) =>
    node.createdSeq <= seq && !(node.deleted && node.deletedSeq <= seq && !includeDeleted)
  const entries: Array<Record<string, unknown>> = []
  const end = cursor.o + cursor.l
  let position = 0
  let hasMore = false
  // A recursive listing starts with the folder itself (not with the root, which has no entry).
  const self: Item[] =
    cursor.r && cursor.pl !== '' ? [{ node: folder, lower: cursor.pl, display: cursor.pd }] : []
  const items = walkTree(folder, cursor.pl, cursor.pd, cursor, ctx.account.accountId, existed)
  for (const item of chain(self, items)) {
    if (position >= end) {
      hasMore = true
      break
    }
    if (
      position >= cursor.o &&
      (!item.node.deleted || (includeDeleted && !superseded(item.node)))
    ) {
      entries.push(metadata(item))
    }
    position++
  }
  const next: ListCursor = hasMore ? { ...cursor, o: end } : { ...cursor, m: 'c', o: 0 }
  return { entries, cursor: encodeCursor(ctx.state.cursorKey, next), has_more: hasMore }
}

export function changesPage(ctx: RpcContext, folder: TreeNode, cursor: ListCursor): ListResult {
  const changed: Item[] = []
  for (const item of walkTree(
    folder,
    cursor.pl,
    cursor.pd,
    cursor,
    ctx.account.accountId,
    () => true,
  )) {
    if (item.node.seq > cursor.s) changed.push(item)
  }
  changed.sort((a, b) => a.node.seq - b.node.seq)
  const page = changed.slice(0, cursor.l)
  const hasMore = changed.length > cursor.l
  const last = page.at(-1)
  const seq = hasMore && last !== undefined ? last.node.seq : ctx.state.tree.seq
  // Deletions are reported whatever include_deleted said: it only shapes the first listing.
  return {
    entries: page.map(metadata),
    cursor: encodeCursor(ctx.state.cursorKey, { ...cursor, s: seq }),
    has_more: hasMore,
  }
}

/** A deleted node whose name was used again: its successor speaks for the path. */
function superseded(node: TreeNode): boolean {
  return node.parent !== null && container(node.parent).index?.get(node.lower) !== node
}

function* chain<T>(first: T[], rest: Iterable<T>): Generator<T> {
  yield* first
  yield* rest
}

/** files.stone `Metadata`, in Dropbox's field order. */
export function metadata({ node, lower, display }: Item): Record<string, unknown> {
  if (node.deleted)
    return { '.tag': 'deleted', name: node.name, path_lower: lower, path_display: display }
  if (node.type === 'folder') {
    return {
      '.tag': 'folder',
      name: node.name,
      path_lower: lower,
      path_display: display,
      id: node.id,
    }
  }
  return {
    '.tag': 'file',
    name: node.name,
    path_lower: lower,
    path_display: display,
    id: node.id,
    client_modified: node.clientModified,
    server_modified: node.serverModified,
    rev: node.rev,
    size: node.size,
    is_downloadable: true,
    content_hash: contentHash(contentSeed(node), node.size),
  }
}
