/**
 * The CloudClient protocol bound to one user's Dropbox tokens. Handles the
 * reactive refresh (401 → refresh → retry once) and the path-root move (422 `invalid_root` →
 * store the new root → retry once).
 *
 * The two RPC routes are sent as the official SDK sends them (`rpcRequest`: POST, bearer token,
 * JSON argument, `Dropbox-API-Path-Root`) and answered as it answers them (`parseResponse`:
 * the parsed body, or a `DropboxResponseError`), without building an SDK client per call: its
 * constructor copies every one of the SDK's ~300 routes onto the new object, which cost more
 * than the rest of the call (docs/performance.md).
 */
import { DropboxResponseError } from 'dropbox'
import type { Deadline } from '../cloud/deadline.ts'
import {
  CloudError,
  ReconnectRequiredError,
  upstreamMalformed,
  upstreamUnavailable,
} from '../cloud/errors.ts'
import type {
  CloudAccount,
  CloudDownload,
  CloudEntry,
  CloudListing,
  DownloadRequest,
  ListFolderRequest,
} from '../cloud/models.ts'
import type { CloudClient, TokenSource } from '../cloud/protocols.ts'
import { callWithRetries, type RetryPolicy } from '../cloud/upstream-policy.ts'
import type { Metrics } from '../observability/metrics.ts'
import { requestDownload, toCloudDownload } from './content-download.ts'
import type { ContentTransport } from './content-transport.ts'
import { AccessTokenRejected, PathRootChanged, translateDropboxError } from './errors.ts'
import { toCloudAccount, toCloudEntry, toCloudListing } from './mappers.ts'
import { pathRootHeader } from './root-info.ts'
import type { DropboxTransport, TransportResponse } from './transport.ts'
import type { DropboxWorkspaceHandler } from './workspace-handler.ts'

export interface DropboxServiceDeps {
  transport: DropboxTransport
  content: ContentTransport
  policy: RetryPolicy
  metrics: Metrics
  workspace: DropboxWorkspaceHandler
}

/**
 * One RPC route: `route` under `/2/`, its argument (null: no body), and its answer as `decode`
 * reads it. The parsed body is decoded in the same continuation that parses it, so it is never
 * the value of a promise: a promise that waited out the upstream call may already be in V8's
 * old generation, and whatever it holds then survives every scavenge until the next full
 * collection (docs/performance.md, "Promises that pin their answers").
 */
type Rpc = <T>(
  route: string,
  arg: object | null,
  deadline: Deadline,
  decode: (answer: unknown) => T,
) => Promise<T>
/** The credentials of the current attempt, for calls that are not RPC-shaped (downloads). */
interface Credentials {
  token: string
  pathRoot: string | undefined
}
type Invoke<T> = (rpc: Rpc, deadline: Deadline, credentials: Credentials) => Promise<T>

export class DropboxService implements CloudClient {
  readonly #tokens: TokenSource
  readonly #deps: DropboxServiceDeps

  constructor(tokens: TokenSource, deps: DropboxServiceDeps) {
    this.#tokens = tokens
    this.#deps = deps
  }

  async getCurrentAccount(): Promise<CloudAccount> {
    const account = await this.#call('users/get_current_account', (rpc, deadline) =>
      rpc('users/get_current_account', null, deadline, toCloudAccount),
    )
    // A call without the path-root header never sees `invalid_root`, so an account moved into
    // a team space is only noticed here: store its new root so later calls address it.
    const stored = this.#tokens.rootInfo()
    if (
      account.root.rootNamespaceId !== stored.rootNamespaceId ||
      account.root.homeNamespaceId !== stored.homeNamespaceId
    ) {
      await this.#tokens.updateRootInfo(account.root)
    }
    return account
  }

  async listFolder(request: ListFolderRequest): Promise<CloudListing> {
    const path = this.#deps.workspace.toDropboxPath(request.path)
    const { workspace } = this.#deps
    const relative = workspace.toRelativePath({
      path_lower: path.toLowerCase(),
      path_display: path,
    })
    return await this.#call('files/list_folder', (rpc, deadline) =>
      rpc(
        'files/list_folder',
        { path, recursive: request.recursive, limit: request.limit, include_deleted: false },
        deadline,
        (answer) => toCloudListing(answer, relative, workspace),
      ),
    )
  }

  listFolderContinue(cursor: string): Promise<CloudListing> {
    const { workspace } = this.#deps
    return this.#call('files/list_folder/continue', (rpc, deadline) =>
      rpc('files/list_folder/continue', { cursor }, deadline, (answer) =>
        toCloudListing(answer, null, workspace),
      ),
    )
  }

  async getMetadata(path: string): Promise<CloudEntry> {
    const { workspace } = this.#deps
    const dropboxPath = workspace.toDropboxPath(path)
    // Dropbox has no metadata for its root ("" is refused): the root of a workspace there is
    // answered without a call (contract §5).
    if (dropboxPath === '') return { type: 'folder', id: '', name: '', path: '' }
    const entry = await this.#call('files/get_metadata', (rpc, deadline) =>
      rpc('files/get_metadata', { path: dropboxPath, include_deleted: false }, deadline, (answer) =>
        toCloudEntry(answer, workspace, 'files/get_metadata'),
      ),
    )
    if (entry === null) throw new CloudError('path_not_found', 'No file or folder at this path.')
    return entry
  }

  async download(request: DownloadRequest): Promise<CloudDownload> {
    const { workspace, content } = this.#deps
    const dropboxPath = workspace.toDropboxPath(request.path)
    // No segments left: the workspace root, a folder (contract §4 step 3).
    if (dropboxPath === workspace.root) {
      throw new CloudError('not_a_file', 'The path is a folder, not a file.')
    }
    const response = await this.#call(
      'files/download',
      (_rpc, deadline, { token, pathRoot }) =>
        requestDownload({
          content,
          token,
          pathRoot,
          dropboxPath,
          range: request.range,
          deadline,
          cancel: request.signal,
        }),
      request.signal,
    )
    return toCloudDownload(response, workspace)
  }

  /** `cancel`: the caller went away; stop at once, never retry. */
  async #call<T>(operation: string, invoke: Invoke<T>, cancel?: AbortSignal): Promise<T> {
    const { transport, policy, metrics } = this.#deps
    const replacing = replacementsFor(transport)
    let token = await this.#tokens.accessToken()
    // Dropbox refused this token a moment ago and its refresh is still running: wait for it
    // rather than send a token known to fail (a refresh storm then costs one 401, not one each).
    // Awaited only when there is one: an `await` of nothing still costs a microtask turn.
    const replacement = replacing.get(token)
    if (replacement !== undefined) token = await replacement
    let tokenRetried = false
    let rootRetried = false
    for (;;) {
      try {
        return await callWithRetries(policy, async (deadline) => {
          const pathRoot = pathRootHeader(this.#tokens.rootInfo())
          const rpc = rpcCaller(transport, token, pathRoot)
          try {
            const result = await invoke(rpc, deadline, { token, pathRoot })
            metrics.countUpstreamCall(operation, 'ok')
            return result
          } catch (raw) {
            if (cancel?.aborted) throw new CallerGone()
            const { error, outcome } = translateDropboxError(raw, operation, deadline)
            metrics.countUpstreamCall(operation, outcome)
            throw error
          }
        })
      } catch (error) {
        if (error instanceof AccessTokenRejected) {
          // The token refused now came from a refresh that just succeeded, so the grant is
          // alive: telling the caller to reconnect would be false. The next call refreshes
          // again, and a grant that has really died answers `invalid_grant` there.
          if (tokenRetried) throw upstreamUnavailable()
          tokenRetried = true
          token = await replacementOf(replacing, token, () =>
            this.#tokens.accessTokenAfterExpiry(token),
          )
          continue
        }
        if (error instanceof PathRootChanged) {
          if (rootRetried) throw upstreamMalformed(operation)
          rootRetried = true
          await this.#tokens.updateRootInfo(error.rootInfo)
          continue
        }
        // The stored connection says so too, so every later call and GET /v1/connection agree.
        if (error instanceof ReconnectRequiredError && error.why.reason === 'missing_scope') {
          await this.#tokens.reconnectRequired(error.why)
        }
        throw error
      }
    }
  }
}

/** The caller disconnected while the call was under way: nothing to answer, nothing to retry. */
export class CallerGone extends Error {
  override name = 'CallerGone'
}

/**
 * Refused access token → the refresh replacing it, while that refresh runs (per transport, so
 * per provider instance). Entries live only as long as their refresh; the replacement itself
 * is never kept here: later calls read it from the vault.
 */
const inFlightReplacements = new WeakMap<DropboxTransport, Map<string, Promise<string>>>()

function replacementsFor(transport: DropboxTransport): Map<string, Promise<string>> {
  let replacements = inFlightReplacements.get(transport)
  if (replacements === undefined) {
    replacements = new Map()
    inFlightReplacements.set(transport, replacements)
  }
  return replacements
}

function replacementOf(
  replacements: Map<string, Promise<string>>,
  rejected: string,
  refresh: () => Promise<string>,
): Promise<string> {
  const running = replacements.get(rejected)
  if (running !== undefined) return running
  const replacement = refresh()
  replacements.set(rejected, replacement)
  const forget = () => {
    if (replacements.get(rejected) === replacement) replacements.delete(rejected)
  }
  replacement.then(forget, forget)
  return replacement
}

/** What the SDK's `rpcRequest` + `parseResponse` do for an RPC-style route. */
function rpcCaller(transport: DropboxTransport, token: string, pathRoot: string | undefined): Rpc {
  // Not an async function: the answer is parsed in the transport's own continuation, one
  // promise and microtask turn fewer per call (docs/performance.md).
  return (route, arg, deadline, decode) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (arg !== null) headers['content-type'] = 'application/json'
    if (pathRoot !== undefined) headers['dropbox-api-path-root'] = pathRoot
    return transport
      .fetch(`${transport.apiBaseUrl}/2/${route}`, {
        method: 'POST',
        headers,
        body: arg === null ? null : JSON.stringify(arg),
        deadline,
      })
      .then((response) => decode(rpcAnswer(response)))
  }
}

function rpcAnswer(response: TransportResponse): unknown {
  const text = response.takeText()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    // Like the SDK: a body that is not JSON is kept as text (the mappers then refuse it).
    body = text
  }
  if (!response.ok) throw new DropboxResponseError(response.status, response.headers, body)
  return body
}
