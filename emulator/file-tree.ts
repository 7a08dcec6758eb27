/**
 * Namespaces and their file trees. A team root mounts each member's home namespace at the
 * member folder (`/Carol Team`), so one node can be reached from the root and from home.
 * Nodes are never removed, only marked deleted, so a listing's order stays stable while
 * it is paged (see `list-folder.ts`).
 */
import { type Clock, dropboxTimestamp } from './clock.ts'
import { stableHash } from './ids.ts'

export interface TreeNode {
  readonly name: string
  readonly lower: string
  readonly type: 'file' | 'folder'
  readonly id: string
  /** null for a namespace's root. */
  readonly parent: TreeNode | null
  readonly namespace: NamespaceTree
  /**
   * Folders only; a mount point's children live in `mount.root`. Every child ever created,
   * in creation order: a re-created name is appended and its deleted predecessor stays.
   */
  readonly children: TreeNode[] | null
  /** The latest child of each lower-case name. */
  readonly index: Map<string, TreeNode> | null
  readonly mount: NamespaceTree | null
  /** A member folder is visible to its member only. */
  readonly mountOwner: string | null
  readonly createdSeq: number
  /** Last change (create, update, delete), for `list_folder/continue` change listings. */
  seq: number
  deleted: boolean
  deletedSeq: number
  size: number
  clientModified: string
  serverModified: string
  rev: string
}

export interface NamespaceTree {
  readonly id: string
  readonly root: TreeNode
  mountedAt: TreeNode | null
}

export interface PutSpec {
  type: 'file' | 'folder'
  size?: number
  clientModified?: string
  serverModified?: string
}

export class TreeError extends Error {}

/** `/a/b` → `['a', 'b']`; `''` → `[]`. Rejects what Dropbox would never store. */
export function splitPath(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/') || path.endsWith('/')) {
    throw new TreeError(`path must start with "/" and not end with one: ${JSON.stringify(path)}`)
  }
  const segments = path.slice(1).split('/')
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new TreeError(`path has an empty, "." or ".." segment: ${JSON.stringify(path)}`)
    }
  }
  return segments
}

/** The node whose `children` hold a folder's entries (itself, or the root it mounts). */
export function container(node: TreeNode): TreeNode {
  return node.mount === null ? node : node.mount.root
}

export function isVisibleTo(node: TreeNode, accountId: string): boolean {
  return node.mountOwner === null || node.mountOwner === accountId
}

export interface NodePath {
  lower: string
  display: string
}

/** The node's path from `root`, or null when it is outside it or behind another member's folder. */
export function reachablePath(
  node: TreeNode,
  root: NamespaceTree,
  accountId: string,
): NodePath | null {
  const names: string[] = []
  let current = node
  for (;;) {
    if (current.parent === null) {
      if (current.namespace === root) break
      const mountedAt = current.namespace.mountedAt
      if (mountedAt === null || !isVisibleTo(mountedAt, accountId)) return null
      current = mountedAt
      continue
    }
    names.push(current.name)
    current = current.parent
  }
  let display = ''
  for (let i = names.length - 1; i >= 0; i--) display += `/${names[i]}`
  return { lower: display.toLowerCase(), display }
}

export class FileTree {
  readonly namespaces = new Map<string, NamespaceTree>()
  readonly byId = new Map<string, TreeNode>()
  readonly #clock: Clock
  #seq = 0

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** The latest change sequence number. */
  get seq(): number {
    return this.#seq
  }

  createNamespace(id: string): NamespaceTree {
    if (this.namespaces.has(id)) throw new TreeError(`namespace ${id} already exists`)
    const seq = ++this.#seq
    const ns = { id, mountedAt: null } as { id: string; root: TreeNode; mountedAt: TreeNode | null }
    ns.root = this.#node(ns, null, '', 'folder', seq, {})
    this.namespaces.set(id, ns)
    this.byId.set(ns.root.id, ns.root)
    return ns
  }

  /** Creates or updates `path` in `ns`, creating missing parent folders. */
  put(ns: NamespaceTree, path: string, spec: PutSpec): TreeNode {
    const segments = splitPath(path)
    if (segments.length === 0) throw new TreeError('cannot put the root')
    for (const field of ['clientModified', 'serverModified'] as const) {
      const value = spec[field]
      if (value !== undefined && Number.isNaN(Date.parse(value))) {
        throw new TreeError(`${field} is not a date: ${JSON.stringify(value)}`)
      }
    }
    let folder = ns.root
    for (let i = 0; i < segments.length; i++) {
      const name = segments[i] as string
      const last = i === segments.length - 1
      const home = container(folder)
      const existing = home.index?.get(name.toLowerCase())
      const live = existing !== undefined && !existing.deleted ? existing : undefined
      if (!last) {
        if (live !== undefined && live.type === 'file') {
          throw new TreeError(`${JSON.stringify(path)}: "${live.name}" is a file`)
        }
        folder = live ?? this.#create(home, name, { type: 'folder' })
        continue
      }
      if (live === undefined) return this.#create(home, name, spec)
      if (live.type !== spec.type) {
        throw new TreeError(`${JSON.stringify(path)} already exists as a ${live.type}`)
      }
      if (live.type === 'file') this.#update(live, spec)
      return live
    }
    throw new TreeError('unreachable')
  }

  /** Shows `child` as the folder `path` of `parent` (a member folder in a team root). */
  mount(parent: NamespaceTree, path: string, child: NamespaceTree, owner: string): TreeNode {
    const segments = splitPath(path)
    const name = segments.pop()
    if (name === undefined) throw new TreeError('cannot mount at the root')
    if (child.mountedAt !== null) throw new TreeError(`namespace ${child.id} is already mounted`)
    const folder =
      segments.length === 0
        ? parent.root
        : this.put(parent, `/${segments.join('/')}`, { type: 'folder' })
    const home = container(folder)
    const existing = home.index?.get(name.toLowerCase())
    if (existing !== undefined && !existing.deleted) {
      throw new TreeError(`${JSON.stringify(path)} already exists in namespace ${parent.id}`)
    }
    const node = this.#node(parent, home, name, 'folder', ++this.#seq, {}, child, owner)
    adopt(home, node)
    this.byId.set(node.id, node)
    child.mountedAt = node
    return node
  }

  lookup(ns: NamespaceTree, segments: readonly string[]): TreeNode | undefined {
    let node = ns.root
    for (const segment of segments) {
      const next = container(node).index?.get(segment.toLowerCase())
      if (next === undefined || next.deleted) return undefined
      node = next
    }
    return node
  }

  /** Marks the node and everything under it deleted. */
  remove(ns: NamespaceTree, path: string): void {
    const node = this.lookup(ns, splitPath(path))
    if (node === undefined || node.parent === null) {
      throw new TreeError(`${JSON.stringify(path)} does not exist in namespace ${ns.id}`)
    }
    if (node.mount !== null) throw new TreeError(`${JSON.stringify(path)} is a member folder`)
    this.#markDeleted(node)
  }

  #markDeleted(node: TreeNode): void {
    node.deleted = true
    node.seq = ++this.#seq
    node.deletedSeq = node.seq
    for (const child of node.children ?? []) {
      if (!child.deleted) this.#markDeleted(child)
    }
  }

  #create(parent: TreeNode, name: string, spec: PutSpec): TreeNode {
    const node = this.#node(parent.namespace, parent, name, spec.type, ++this.#seq, spec)
    const replaced = parent.index?.get(node.lower)
    if (replaced !== undefined) this.byId.delete(replaced.id)
    adopt(parent, node)
    this.byId.set(node.id, node)
    return node
  }

  #update(node: TreeNode, spec: PutSpec): void {
    node.seq = ++this.#seq
    const now = dropboxTimestamp(this.#clock.now())
    node.size = spec.size ?? node.size
    node.clientModified = spec.clientModified
      ? dropboxTimestamp(Date.parse(spec.clientModified))
      : now
    node.serverModified = now
    node.rev = revFor(node.id, node.seq)
  }

  #node(
    ns: NamespaceTree,
    parent: TreeNode | null,
    name: string,
    type: 'file' | 'folder',
    seq: number,
    spec: Omit<PutSpec, 'type'>,
    mount: NamespaceTree | null = null,
    mountOwner: string | null = null,
  ): TreeNode {
    const lower = name.toLowerCase()
    const id = `id:${stableHash(`${ns.id}/${parent?.id ?? ''}/${lower}/${seq}`)
      .toString('base64url')
      .slice(0, 22)}`
    const now = dropboxTimestamp(this.#clock.now())
    const size = type === 'file' ? (spec.size ?? 1024) : 0
    return {
      name,
      lower,
      type,
      id,
      parent,
      namespace: ns,
      children: type === 'folder' && mount === null ? [] : null,
      index: type === 'folder' && mount === null ? new Map() : null,
      mount,
      mountOwner,
      createdSeq: seq,
      seq,
      deleted: false,
      deletedSeq: 0,
      size,
      clientModified: timestamp(spec.clientModified, now),
      serverModified: timestamp(spec.serverModified, now),
      rev: revFor(id, seq),
    }
  }
}

function adopt(parent: TreeNode, child: TreeNode): void {
  parent.children?.push(child)
  parent.index?.set(child.lower, child)
}

function timestamp(value: string | undefined, fallback: string): string {
  return value === undefined ? fallback : dropboxTimestamp(Date.parse(value))
}

/** Hex, at least 9 characters (files.stone `Rev`). */
function revFor(id: string, seq: number): string {
  return `0${stableHash(`rev/${id}/${seq}`).toString('hex').slice(0, 14)}`
}
