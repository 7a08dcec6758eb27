/**
 * The one HTTP path to Dropbox: a keep-alive undici pool, and the SDK's hard-coded
 * `https://api.dropboxapi.com` origin rewritten to `DROPBOX_API_BASE_URL` (the emulator in tests).
 *
 * `fetch` is the small part of the Fetch API that the SDK and our callers read (`ok`, `status`,
 * `headers.get`, `text`, `json`), served by undici's `dispatch` with a handler that collects the
 * body: no WHATWG Request/Response objects or web streams (undici's `fetch`), and no Readable
 * per response (undici's `request`). Those cost more CPU than the rest of a proxied call
 * (docs/performance.md). Every caller reads whole bodies, so nothing is lost by buffering.
 */
import { Agent, type Dispatcher } from 'undici'
import { type Deadline, whenStopped } from '../cloud/deadline.ts'
import { CloudError } from '../cloud/errors.ts'

const SDK_API_ORIGINS = ['https://api.dropboxapi.com', 'https://api.dropbox.com']

export interface TransportRequestInit {
  method?: string
  headers?: Record<string, string>
  body?: string | null
  /** What the SDK passes (fetch's own option). */
  signal?: AbortSignal
  /** What our calls pass: the call's deadline, watched without EventTarget's cost. */
  deadline?: Deadline
}

export interface TransportHeaders {
  get(name: string): string | null
}

export interface TransportResponse {
  readonly status: number
  readonly ok: boolean
  readonly headers: TransportHeaders
  /**
   * The whole body (the transport collects every answer before it resolves), readable once as
   * in fetch. Reading it lets go of it: the promise that delivered this response may already be
   * in V8's old generation, and would otherwise hold the body until the next full collection
   * (docs/performance.md, "Promises that pin their answers").
   */
  takeText(): string
  /** `takeText()`, as fetch gives it (the SDK reads this). */
  text(): Promise<string>
  /** `JSON.parse` of `text()`: a malformed body rejects with a `SyntaxError`, as in fetch. */
  json(): Promise<unknown>
}

export type TransportFetch = (
  url: string,
  init?: TransportRequestInit,
) => Promise<TransportResponse>

export interface DropboxTransport {
  readonly apiBaseUrl: string
  fetch: TransportFetch
  close(): Promise<void>
}

/** `UPSTREAM_MAX_RESPONSE_BYTES`' default (contract §8). */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024

/** An answer over the cap is cut off as it arrives, not buffered until the deadline (contract §6). */
export function responseTooLarge(): CloudError {
  return new CloudError(
    'upstream_error',
    'Dropbox sent an answer larger than this service accepts.',
  )
}

export function createDropboxTransport(
  apiBaseUrl: string,
  maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
): DropboxTransport {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, pipelining: 1 })
  // Built once: a string made per call is hashed again by the Agent's map of origins, and
  // `URL#origin` makes a new one on every read (docs/performance.md, 2026-12-03).
  const sdkPrefixes = SDK_API_ORIGINS.map((origin) => `${origin}/`)
  const base = new URL(apiBaseUrl)
  const baseOrigin = base.origin
  const basePrefix = `${apiBaseUrl}/`
  const basePath = base.pathname.replace(/\/$/, '')
  /**
   * `origin` and `path` for undici. Our own calls are under the base; the SDK's hard-coded
   * origins are moved under it; neither is parsed as a URL.
   */
  const target = (url: string): { origin: string; path: string } => {
    if (url.startsWith(basePrefix)) {
      return { origin: baseOrigin, path: basePath + url.slice(apiBaseUrl.length) }
    }
    for (const prefix of sdkPrefixes) {
      if (url.startsWith(prefix)) {
        return { origin: baseOrigin, path: basePath + url.slice(prefix.length - 1) }
      }
    }
    const parsed = new URL(url)
    return { origin: parsed.origin, path: parsed.pathname + parsed.search }
  }
  const fetch: TransportFetch = (input, init = {}) => {
    const { origin, path } = target(String(input))
    const options: Dispatcher.DispatchOptions = {
      origin,
      path,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body ?? null,
    }
    return dispatchBuffered(agent, options, init.deadline ?? init.signal, maxResponseBytes)
  }
  return { apiBaseUrl, fetch, close: () => agent.close() }
}

type RawHeaders = Record<string, string | string[] | undefined>

class LeanHeaders implements TransportHeaders {
  readonly #raw: RawHeaders
  constructor(raw: RawHeaders) {
    this.#raw = raw
  }
  get(name: string): string | null {
    const value = this.#raw[name.toLowerCase()]
    if (value === undefined) return null
    return Array.isArray(value) ? value.join(', ') : value
  }
}

class LeanResponse implements TransportResponse {
  readonly status: number
  readonly ok: boolean
  readonly headers: TransportHeaders
  #body: string | null

  constructor(status: number, headers: RawHeaders, body: string) {
    this.status = status
    this.ok = status >= 200 && status < 300
    this.headers = new LeanHeaders(headers)
    this.#body = body
  }

  takeText(): string {
    const body = this.#body
    // fetch's own words for a body read twice.
    if (body === null) throw new TypeError('Body is unusable: Body has already been read')
    this.#body = null
    return body
  }

  async text(): Promise<string> {
    return this.takeText()
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.takeText())
  }
}

/**
 * One request, its whole answer collected. `stop` aborts it at any point (queued for a
 * connection, waiting for headers, mid-body) and the promise rejects with its reason.
 */
function dispatchBuffered(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  stop: Deadline | AbortSignal | undefined,
  maxBytes: number,
): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    if (stop?.aborted) {
      reject(stop.reason)
      return
    }
    let controller: Dispatcher.DispatchController | undefined
    let status = 0
    let headers: RawHeaders = {}
    const chunks: Buffer[] = []
    let received = 0
    const onAbort = () => {
      reject(stop?.reason)
      controller?.abort(stop?.reason)
    }
    const settled = whenStopped(stop, onAbort)
    dispatcher.dispatch(options, {
      onRequestStart(started) {
        controller = started
        if (stop?.aborted) started.abort(stop.reason)
      },
      onResponseStart(_controller, statusCode, responseHeaders) {
        status = statusCode
        headers = responseHeaders as RawHeaders
      },
      onResponseData(dataController, chunk) {
        received += chunk.length
        if (received > maxBytes) {
          chunks.length = 0
          dataController.abort(responseTooLarge())
          return
        }
        chunks.push(chunk)
      },
      onResponseEnd() {
        settled()
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)
        resolve(new LeanResponse(status, headers, body.toString('utf8')))
      },
      onResponseError(_controller, error) {
        settled()
        reject(error)
      },
    })
  })
}
