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

const SDK_API_ORIGINS = ['https://api.dropboxapi.com', 'https://api.dropbox.com']

export interface TransportRequestInit {
  method?: string
  headers?: Record<string, string>
  body?: string | null
  signal?: AbortSignal
}

export interface TransportHeaders {
  get(name: string): string | null
}

export interface TransportResponse {
  readonly status: number
  readonly ok: boolean
  readonly headers: TransportHeaders
  /** Reads the whole body; every response must be read once (it frees the connection). */
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

export function createDropboxTransport(apiBaseUrl: string): DropboxTransport {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, pipelining: 1 })
  const rewrite = (url: string): string => {
    for (const origin of SDK_API_ORIGINS) {
      if (url.startsWith(`${origin}/`)) return apiBaseUrl + url.slice(origin.length)
    }
    return url
  }
  const base = new URL(apiBaseUrl)
  const basePath = base.pathname.replace(/\/$/, '')
  /** `origin` and `path` for undici; URLs under the base (every call we make) skip URL parsing. */
  const target = (url: string): { origin: string; path: string } => {
    if (url.startsWith(`${apiBaseUrl}/`)) {
      return { origin: base.origin, path: basePath + url.slice(apiBaseUrl.length) }
    }
    const parsed = new URL(url)
    return { origin: parsed.origin, path: parsed.pathname + parsed.search }
  }
  const fetch: TransportFetch = (input, init = {}) => {
    const { origin, path } = target(rewrite(String(input)))
    const options: Dispatcher.DispatchOptions = {
      origin,
      path,
      method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body ?? null,
    }
    return dispatchBuffered(agent, options, init.signal)
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
  readonly #body: string

  constructor(status: number, headers: RawHeaders, body: string) {
    this.status = status
    this.ok = status >= 200 && status < 300
    this.headers = new LeanHeaders(headers)
    this.#body = body
  }

  async text(): Promise<string> {
    return this.#body
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.#body)
  }
}

/**
 * One request, its whole answer collected. The signal aborts it at any point (queued for a
 * connection, waiting for headers, mid-body) and the promise rejects with the signal's reason.
 */
function dispatchBuffered(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason)
      return
    }
    let controller: Dispatcher.DispatchController | undefined
    let status = 0
    let headers: RawHeaders = {}
    const chunks: Buffer[] = []
    const onAbort = () => {
      reject(signal?.reason)
      controller?.abort(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const settled = () => signal?.removeEventListener('abort', onAbort)
    dispatcher.dispatch(options, {
      onRequestStart(started) {
        controller = started
        if (signal?.aborted) started.abort(signal.reason)
      },
      onResponseStart(_controller, statusCode, responseHeaders) {
        status = statusCode
        headers = responseHeaders as RawHeaders
      },
      onResponseData(_controller, chunk) {
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
