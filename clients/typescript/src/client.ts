/**
 * The connector over HTTP (contract §5): `new CloudConnector(...).forUser(userId)` is a client
 * bound to one user, every call signed as that user (§2). A small runtime over `fetch`.
 */
import {
  type CloudConnectorError,
  ConnectorTimeout,
  ConnectorUnreachable,
  DownloadInterrupted,
  errorClass,
  UnexpectedResponse,
} from './errors.ts'
import type { IdentitySigner } from './signer.ts'
import type { Account, Connection, ConnectSession, Entry, Listing } from './types.ts'

export const DEFAULT_TIMEOUT_MS = 15_000

export interface CloudConnectorOptions {
  /** The connector's internal listener (`/v1`, contract §5 `INTERNAL_PORT`), not the public one. */
  baseUrl: string
  signer: IdentitySigner
  /** Until the answer's headers arrive (a download's body may take longer). */
  timeoutMs?: number
  fetch?: typeof fetch
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>
  body?: unknown
  headers?: Record<string, string>
}

export class CloudConnector {
  readonly baseUrl: string
  readonly signer: IdentitySigner
  readonly timeoutMs: number
  readonly #fetch: typeof fetch

  constructor(options: CloudConnectorOptions) {
    const url = new URL(options.baseUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be an http(s) URL, not ${options.baseUrl}`)
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.signer = options.signer
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#fetch = options.fetch ?? fetch
  }

  forUser(userId: string | number): UserClient {
    return new UserClient(this, String(userId))
  }

  /** One signed call; an error answer throws its §6 class, no answer a transport class. */
  async request(
    userId: string,
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Response> {
    const url = new URL(this.baseUrl + path)
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value))
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      'x-identity-assertion': await this.signer.assertion(userId),
      ...options.headers,
    }
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new DOMException('timeout', 'TimeoutError')),
      this.timeoutMs,
    )
    let response: Response
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        redirect: 'manual',
        signal: controller.signal,
      })
    } catch (error) {
      if ((error as Error)?.name === 'TimeoutError') {
        throw new ConnectorTimeout(`${method} ${path}: no answer within ${this.timeoutMs} ms`, {
          cause: error,
        })
      }
      // The message names the cause, never the assertion.
      const cause = (error as { cause?: { code?: string } })?.cause?.code
      throw new ConnectorUnreachable(`${method} ${path}: ${cause ?? (error as Error)?.message}`, {
        cause: error,
      })
    } finally {
      clearTimeout(timer)
    }
    if (response.status >= 400) throw await problemOf(response)
    return response
  }
}

function retryAfterOf(value: string | null): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim())
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.round((at - Date.now()) / 1000))
}

/** `bytes *\/512` → 512: a 416's answer to "how long is the file, then?" (RFC 9110 §14.4). */
function unsatisfiedSizeOf(value: string | null): number | undefined {
  const match = value === null ? null : /^bytes \*\/(\d+)$/.exec(value.trim())
  return match === null ? undefined : Number(match[1])
}

async function problemOf(response: Response): Promise<CloudConnectorError> {
  const { status } = response
  const retryAfter = retryAfterOf(response.headers.get('retry-after'))
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined
  if (typeof body !== 'object' || body === null || typeof body.code !== 'string') {
    return new UnexpectedResponse(
      `HTTP ${status} without a problem document (${response.headers.get('content-type')})`,
      { status, retryAfter },
    )
  }
  const { code, detail, title } = body as { code: string; detail?: unknown; title?: unknown }
  const Class = errorClass(code, status)
  return new Class(String(detail || title || code), {
    status,
    code,
    title: typeof title === 'string' ? title : undefined,
    retryAfter,
    size: unsatisfiedSizeOf(response.headers.get('content-range')),
  })
}

async function jsonOf<T>(response: Response, expected: number): Promise<T> {
  if (response.status !== expected) {
    await response.body?.cancel()
    throw new UnexpectedResponse(`expected HTTP ${expected}, got ${response.status}`, {
      status: response.status,
    })
  }
  const body = await response.json().catch(() => undefined)
  if (typeof body !== 'object' || body === null) {
    throw new UnexpectedResponse('the answer is not a JSON object', { status: response.status })
  }
  return body as T
}

export interface ListOptions {
  recursive?: boolean
  /** Approximate page size, 1–2000. */
  limit?: number
}

/** `[first, last]` inclusive (`last` undefined: to the end), or a `bytes=…` string. */
export type ByteRange = readonly [number, number?] | string

export interface Download {
  /** 200 for the whole file, 206 for a range. */
  status: number
  /** The entry from `Cloud-Entry`. */
  entry: Entry | undefined
  contentLength: number | undefined
  contentRange: string | undefined
  /** The connector's `Content-Type` and RFC 6266 `Content-Disposition`, to pass on as they are. */
  contentType: string | undefined
  contentDisposition: string | undefined
  etag: string | undefined
  lastModified: string | undefined
  /** The bytes as they arrive; errors with `DownloadInterrupted` when the body is cut short. */
  body: ReadableStream<Uint8Array>
}

export class UserClient {
  readonly connector: CloudConnector
  readonly userId: string

  constructor(connector: CloudConnector, userId: string) {
    this.connector = connector
    this.userId = userId
  }

  async #json<T>(method: string, path: string, options?: RequestOptions, expected = 200) {
    return jsonOf<T>(await this.connector.request(this.userId, method, path, options), expected)
  }

  // Connection and connect flow (contract §3)

  connection(): Promise<Connection> {
    return this.#json('GET', '/v1/connection')
  }

  /** A connect session: redirect the user's browser to its `connect_url`. */
  startConnect(): Promise<ConnectSession> {
    return this.#json('POST', '/v1/connect/sessions', {}, 201)
  }

  /** Finish connecting with the `session` and `completion` of the return URL (§3.4). */
  complete(session: string, completion?: string): Promise<Connection> {
    return this.#json('POST', `/v1/connect/sessions/${encodeURIComponent(session)}/complete`, {
      body: completion === undefined ? {} : { completion },
    })
  }

  /** Revokes the grant at Dropbox and forgets the connection; fine when there is none. */
  async disconnect(): Promise<void> {
    const response = await this.connector.request(this.userId, 'DELETE', '/v1/connection')
    await response.body?.cancel()
    if (response.status !== 204) {
      throw new UnexpectedResponse(`expected HTTP 204, got ${response.status}`, {
        status: response.status,
      })
    }
  }

  // Cloud operations (contract §5)

  me(): Promise<Account> {
    return this.#json('GET', '/v1/me')
  }

  /** One page of the folder at `path` (relative to the workspace, "" = its root). */
  listFolder(path = '', options: ListOptions = {}): Promise<Listing> {
    return this.#json('GET', '/v1/workspace/list', {
      query: { path, recursive: options.recursive || undefined, limit: options.limit },
    })
  }

  /** The page after the one that returned `cursor` (or changes since then). */
  listFolderContinue(cursor: string): Promise<Listing> {
    return this.#json('GET', '/v1/workspace/list', { query: { cursor } })
  }

  /** Every entry under `path`, fetching pages through cursors as the loop goes. */
  async *entries(path = '', options: ListOptions = {}): AsyncGenerator<Entry, void, undefined> {
    let page = await this.listFolder(path, options)
    while (true) {
      yield* page.entries
      if (!page.has_more) return
      page = await this.listFolderContinue(page.cursor)
    }
  }

  /** The file or folder at `path`; the workspace root is a folder with path "". */
  metadata(path: string): Promise<Entry> {
    return this.#json('GET', '/v1/workspace/metadata', { query: { path } })
  }

  /** The file's bytes as a stream (never buffered whole); optionally a byte range. */
  async download(path: string, options: { range?: ByteRange } = {}): Promise<Download> {
    const headers: Record<string, string> = { accept: 'application/octet-stream' }
    if (options.range !== undefined) headers.range = rangeHeader(options.range)
    const response = await this.connector.request(this.userId, 'GET', '/v1/workspace/download', {
      query: { path },
      headers,
    })
    if ((response.status !== 200 && response.status !== 206) || response.body === null) {
      await response.body?.cancel()
      throw new UnexpectedResponse(`expected HTTP 200 or 206, got ${response.status}`, {
        status: response.status,
      })
    }
    const header = (name: string) => response.headers.get(name) ?? undefined
    const entry = header('cloud-entry')
    const length = header('content-length')
    const contentLength = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined
    return {
      status: response.status,
      entry: entry === undefined ? undefined : (JSON.parse(entry) as Entry),
      contentLength,
      contentRange: header('content-range'),
      contentType: header('content-type'),
      contentDisposition: header('content-disposition'),
      etag: header('etag'),
      lastModified: header('last-modified'),
      body: checkedBody(response.body, contentLength),
    }
  }
}

function rangeHeader(range: ByteRange): string {
  if (typeof range === 'string') return range.startsWith('bytes=') ? range : `bytes=${range}`
  const [first, last] = range
  if (!(first >= 0) || (last !== undefined && last < first)) {
    throw new RangeError(`not a byte range: ${JSON.stringify(range)}`)
  }
  return `bytes=${first}-${last ?? ''}`
}

/** Passes chunks through as they arrive; a short or broken body errors as `DownloadInterrupted`. */
function checkedBody(
  source: ReadableStream<Uint8Array>,
  contentLength: number | undefined,
): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  let received = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: Awaited<ReturnType<typeof reader.read>>
      try {
        result = await reader.read()
      } catch (error) {
        controller.error(
          new DownloadInterrupted(`the download broke off after ${received} bytes`, {
            cause: error,
          }),
        )
        return
      }
      if (!result.done) {
        received += result.value.byteLength
        controller.enqueue(result.value)
        return
      }
      if (contentLength !== undefined && received !== contentLength) {
        controller.error(
          new DownloadInterrupted(
            `the download broke off after ${received} of ${contentLength} bytes`,
          ),
        )
        return
      }
      controller.close()
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
