/** `files/list_folder` and `files/list_folder/continue` (files.stone). */
import { ArgError, validateStruct } from './arg-validation.ts'
import { decodeCursor, type ListCursor } from './cursor.ts'
import { reachablePath } from './file-tree.ts'
import { badRequest } from './http-io.ts'
import { changesPage, resolveFolder, snapshotPage } from './list-folder.ts'
import { canReach } from './path-root.ts'
import { type RpcContext, type RpcRoute, routeError } from './rpc.ts'

/** files.stone `PathROrId`: `(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/(.|[\r\n])*)?)`. */
const PATH_R_OR_ID = /^(?:(?:\/[\s\S]*)?|id:.*|ns:[0-9]+(?:\/[\s\S]*)?)$/
const PATH_R_OR_ID_TEXT = '(/(.|[\\r\\n])*)?|id:.*|(ns:[0-9]+(/(.|[\\r\\n])*)?)'
/** Dropbox's page size when no limit is given is its own; 2000 is the documented maximum. */
const DEFAULT_LIMIT = 2000

function validateListFolder(arg: unknown): Record<string, unknown> {
  if (typeof arg === 'object' && arg !== null && (arg as { path?: unknown }).path === '/') {
    throw new ArgError('path: Specify the root folder as an empty string rather than as "/".')
  }
  const value = validateStruct(arg, {
    path: { type: 'string', required: true, pattern: PATH_R_OR_ID, patternText: PATH_R_OR_ID_TEXT },
    recursive: { type: 'boolean' },
    include_media_info: { type: 'boolean' },
    include_deleted: { type: 'boolean' },
    include_has_explicit_shared_members: { type: 'boolean' },
    include_mounted_folders: { type: 'boolean' },
    limit: { type: 'uint32', min: 1, max: 2000 },
    shared_link: { type: 'object' },
    include_property_groups: { type: 'object' },
    include_non_downloadable_files: { type: 'boolean' },
    include_restorable_info: { type: 'boolean' },
  })
  if (value.shared_link !== undefined)
    throw new ArgError('shared_link: not supported by the emulator')
  return value
}

export const listFolder: RpcRoute = {
  fn: 'files/list_folder',
  scope: 'files.metadata.read',
  validate: validateListFolder,
  appAuth: true,
  handle(ctx, arg) {
    const resolved = resolveFolder(ctx, arg.path as string)
    if (!resolved.ok) {
      routeError(ctx, ['path', resolved.tag], { '.tag': 'path', path: { '.tag': resolved.tag } })
      return
    }
    const cursor: ListCursor = {
      a: ctx.account.accountId,
      e: ctx.account.cursorEpoch,
      ns: ctx.root.id,
      n: resolved.node.id,
      pl: resolved.prefix.lower,
      pd: resolved.prefix.display,
      r: arg.recursive === true,
      d: arg.include_deleted === true,
      mf: arg.include_mounted_folders !== false,
      l: (arg.limit as number | undefined) ?? DEFAULT_LIMIT,
      m: 's',
      s: ctx.state.tree.seq,
      o: 0,
    }
    ctx.reply.json(200, snapshotPage(ctx, resolved.node, cursor))
  },
}

export const listFolderContinue: RpcRoute = {
  fn: 'files/list_folder/continue',
  scope: 'files.metadata.read',
  validate: (arg) =>
    validateStruct(arg, { cursor: { type: 'string', required: true, minLength: 1 } }),
  appAuth: true,
  handle(ctx, arg) {
    const cursor = decodeCursor(ctx.state.cursorKey, arg.cursor as string)
    // A cursor Dropbox never issued is a malformed argument (400 text), not a route error:
    // the documented route errors (path, reset, other) all concern a cursor that was valid.
    if (cursor === null || cursor.a !== ctx.account.accountId) {
      badRequest(ctx.reply, ctx.fn, 'Invalid "cursor" parameter.')
      return
    }
    const ns = ctx.state.tree.namespaces.get(cursor.ns)
    if (cursor.e !== ctx.account.cursorEpoch || ns === undefined || !canReach(ctx.account, ns)) {
      reset(ctx)
      return
    }
    const folder = ctx.state.tree.byId.get(cursor.n)
    if (folder === undefined || folder.deleted) {
      routeError(ctx, ['path', 'not_found'], { '.tag': 'path', path: { '.tag': 'not_found' } })
      return
    }
    if (reachablePath(folder, ns, ctx.account.accountId) === null) {
      reset(ctx)
      return
    }
    const page =
      cursor.m === 's' ? snapshotPage(ctx, folder, cursor) : changesPage(ctx, folder, cursor)
    ctx.reply.json(200, page)
  },
}

function reset(ctx: RpcContext): void {
  routeError(ctx, ['reset'], { '.tag': 'reset' })
}
