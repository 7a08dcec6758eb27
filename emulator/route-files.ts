/**
 * `files/get_metadata` (an RPC route on the API host) and `files/download` (a content-download
 * route on the content host: the argument in `Dropbox-API-Arg` or the `arg` URL parameter,
 * the metadata back in `Dropbox-API-Result`, the bytes as the body, `Range` honoured).
 */
import type { IncomingMessage } from 'node:http'
import { ArgError, validateStruct } from './arg-validation.ts'
import { contentChunks, contentSeed } from './content.ts'
import { container, isVisibleTo } from './file-tree.ts'
import { badRequest, type Reply } from './http-io.ts'
import { type Item, metadata, resolve, resolveFolder } from './list-folder.ts'
import {
  authorizeCaller,
  header,
  type RpcContext,
  type RpcRoute,
  readCredential,
  readPathRoot,
  routeError,
} from './rpc.ts'
import type { EmulatorState } from './state.ts'

/** files.stone `ReadPath`. */
const READ_PATH = /^(?:\/[\s\S]*|id:.*|rev:[0-9a-f]{9,}|ns:[0-9]+(?:\/[\s\S]*)?)$/
const READ_PATH_TEXT = '(/(.|[\\r\\n])*|id:.*)|(rev:[0-9a-f]{9,})|(ns:[0-9]+(/(.|[\\r\\n])*)?)'

type Found = { ok: true; item: Parameters<typeof metadata>[0] } | { ok: false; tag: string }

/** A path of `ReadPath` → the entry; `rev:` paths name old revisions, which are not kept. */
function lookup(ctx: RpcContext, path: string): Found {
  if (path.startsWith('rev:')) return { ok: false, tag: 'not_found' }
  const resolved = resolve(ctx, path)
  if (!resolved.ok) return resolved
  return {
    ok: true,
    item: { node: resolved.node, lower: resolved.prefix.lower, display: resolved.prefix.display },
  }
}

function validatePath(arg: unknown, extra: Parameters<typeof validateStruct>[1] = {}) {
  return validateStruct(arg, {
    path: { type: 'string', required: true, pattern: READ_PATH, patternText: READ_PATH_TEXT },
    ...extra,
  })
}

export const getMetadata: RpcRoute = {
  fn: 'files/get_metadata',
  scope: 'files.metadata.read',
  validate: (arg) => {
    if (typeof arg === 'object' && arg !== null && (arg as { path?: unknown }).path === '') {
      // The root has no metadata (files.stone: "Note: Metadata for the root folder is unsupported.").
      throw new ArgError('path: The root folder is unsupported.')
    }
    return validatePath(arg, {
      include_media_info: { type: 'boolean' },
      include_deleted: { type: 'boolean' },
      include_has_explicit_shared_members: { type: 'boolean' },
      include_property_groups: { type: 'object' },
    })
  },
  handle(ctx, arg) {
    const path = arg.path as string
    const deleted = arg.include_deleted === true ? deletedEntry(ctx, path) : null
    if (deleted !== null) {
      ctx.reply.json(200, metadata(deleted))
      return
    }
    const found = lookup(ctx, path)
    if (!found.ok) {
      routeError(ctx, ['path', found.tag], { '.tag': 'path', path: { '.tag': found.tag } })
      return
    }
    ctx.reply.json(200, metadata(found.item))
  },
}

/**
 * `include_deleted`: a deleted file or folder answers `DeletedMetadata` (files.stone
 * GetMetadataArg). Only a deleted last segment under a live folder is found, by path; inside a
 * deleted folder or by id it stays `not_found` (unverified at Dropbox; the stricter choice).
 */
function deletedEntry(ctx: RpcContext, path: string): Item | null {
  const slash = path.lastIndexOf('/')
  if (!path.startsWith('/') || slash === path.length - 1) return null
  const parent = resolveFolder(ctx, path.slice(0, slash))
  if (!parent.ok) return null
  const name = path.slice(slash + 1)
  const node = container(parent.node).index?.get(name.toLowerCase())
  if (node === undefined || !node.deleted || !isVisibleTo(node, ctx.account.accountId)) return null
  return {
    node,
    lower: `${parent.prefix.lower}/${node.lower}`,
    display: `${parent.prefix.display}/${name}`,
  }
}

const DOWNLOAD = 'files/download'

/** The argument of a content route: `Dropbox-API-Arg`, else the `arg` URL parameter. */
function downloadArg(req: IncomingMessage, query: string): Record<string, unknown> {
  const raw = header(req.headers, 'dropbox-api-arg') ?? new URLSearchParams(query).get('arg')
  if (raw === null || raw === undefined) {
    throw new ArgError('Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".')
  }
  // Header bytes arrive as Latin-1: anything above ASCII means the client did not escape
  // non-ASCII characters as \uXXXX, which Dropbox requires for JSON in headers.
  if (/[^\x20-\x7e]/.test(raw)) {
    throw new ArgError('HTTP header "Dropbox-API-Arg": could not decode input as JSON')
  }
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new ArgError('HTTP header "Dropbox-API-Arg": could not decode input as JSON')
  }
  try {
    return validatePath(value, { rev: { type: 'string' } })
  } catch (error) {
    if (!(error instanceof ArgError)) throw error
    throw new ArgError(`HTTP header "Dropbox-API-Arg": ${error.message}`)
  }
}

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null

/**
 * One `bytes=` range (RFC 9110 §14.1.2); `[start, end)`. Other units, several ranges and
 * malformed specs are ignored (§14.2 allows it): the whole file is sent.
 */
export function parseRange(value: string | undefined, size: number): ByteRange {
  if (value === undefined) return null
  const match = /^bytes=(\d*)-(\d*)$/i.exec(value.trim())
  if (match === null) return null
  const [, first, last] = match as unknown as [string, string, string]
  if (first === '' && last === '') return null
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return null
  if (start >= size) return 'unsatisfiable'
  const end = last === '' ? size : Math.min(size, Number(last) + 1)
  return { start, end }
}

/** JSON for a header, non-ASCII as \uXXXX, as Dropbox sends `Dropbox-API-Result`. */
function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

export function handleDownload(
  state: EmulatorState,
  req: IncomingMessage,
  query: string,
  reply: Reply,
): void {
  const credential = readCredential(req.headers, query, DOWNLOAD, false, reply)
  if (credential === null || credential.bearer === undefined) return
  let arg: Record<string, unknown>
  try {
    arg = downloadArg(req, query)
  } catch (error) {
    if (!(error instanceof ArgError)) throw error
    badRequest(reply, DOWNLOAD, error.message)
    return
  }
  const pathRoot = readPathRoot(req.headers, DOWNLOAD, reply)
  if (pathRoot === null) return
  const caller = authorizeCaller(state, credential.bearer, 'files.content.read', pathRoot, reply)
  if (caller === null) return
  const ctx: RpcContext = { state, reply, fn: DOWNLOAD, ...caller }
  const found = lookup(ctx, arg.path as string)
  const tag = found.ok ? (found.item.node.type === 'folder' ? 'not_file' : null) : found.tag
  if (!found.ok || tag !== null) {
    routeError(ctx, ['path', tag as string], { '.tag': 'path', path: { '.tag': tag } })
    return
  }
  const { node } = found.item
  if (typeof arg.rev === 'string' && arg.rev !== node.rev) {
    routeError(ctx, ['path', 'not_found'], { '.tag': 'path', path: { '.tag': 'not_found' } })
    return
  }
  const { '.tag': _file, ...result } = metadata(found.item)
  const range = parseRange(header(req.headers, 'range'), node.size)
  if (range === 'unsatisfiable') {
    reply.text(416, 'Requested Range Not Satisfiable', { 'content-range': `bytes */${node.size}` })
    return
  }
  const start = range?.start ?? 0
  const end = range?.end ?? node.size
  const headers: Record<string, string | number> = {
    'content-type': 'application/octet-stream',
    'content-length': end - start,
    'accept-ranges': 'bytes',
    'dropbox-api-result': headerJson(result),
  }
  if (range !== null) headers['content-range'] = `bytes ${start}-${end - 1}/${node.size}`
  reply.stream(range === null ? 200 : 206, headers, contentChunks(contentSeed(node), start, end))
}

export function downloadMethodNotAllowed(reply: Reply): void {
  reply.text(
    405,
    `Error in call to API function "${DOWNLOAD}": Expecting HTTP method POST or GET.`,
    {
      allow: 'POST, GET',
    },
  )
}
