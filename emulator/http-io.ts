/** Reading requests and writing Dropbox-shaped answers. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { nextRequestId } from './ids.ts'
import type { CallRecord } from './types.ts'

export const MAX_BODY_BYTES = 1 << 20
const EMPTY = Buffer.alloc(0)

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  if (
    req.headers['content-length'] === '0' ||
    (req.method === 'GET' && !req.headers['transfer-encoding'])
  ) {
    req.resume()
    return Promise.resolve(EMPTY)
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError())
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    )
    req.on('error', reject)
  })
}

const JSON_TYPE = 'application/json'
const TEXT_TYPE = 'text/plain; charset=utf-8'
const HTML_TYPE = 'text/html; charset=utf-8'

/** One answer per request; remembers its status for the call log and obeys `malformed_json`. */
export class Reply {
  readonly res: ServerResponse
  readonly record: CallRecord | null
  /** Set by the `malformed_json` fault: whatever is answered becomes 200 with half a JSON body. */
  truncate = false
  /** Set by the `reset_mid_body` fault: the connection is reset after this many body bytes. */
  resetAfterBytes: number | undefined = undefined
  status = 0

  constructor(res: ServerResponse, record: CallRecord | null) {
    this.res = res
    this.record = record
  }

  send(
    status: number,
    contentType: string,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    if (this.res.headersSent || this.res.destroyed) return
    let finalStatus = status
    let finalType = contentType
    let finalBody = body
    if (this.truncate) {
      finalStatus = 200
      finalType = JSON_TYPE
      finalBody = body.slice(0, Math.max(1, Math.floor(body.length / 2)))
    }
    const head = {
      'content-type': finalType,
      'content-length': Buffer.byteLength(finalBody),
      ...headers,
    }
    if (this.resetAfterBytes !== undefined) {
      this.stream(finalStatus, head, [Buffer.from(finalBody)].values())
      return
    }
    this.status = finalStatus
    if (this.record !== null) this.record.status = finalStatus
    this.res.writeHead(finalStatus, { ...head, 'x-dropbox-request-id': nextRequestId() })
    this.res.end(finalBody)
  }

  /**
   * A body written chunk by chunk as the client reads it (backpressure: the next chunk is made
   * only after `drain`), so a multi-GiB answer costs a chunk of memory. The call log records
   * how many bytes went out and how the body ended.
   */
  stream(status: number, headers: Record<string, string | number>, chunks: Iterator<Buffer>): void {
    const res = this.res
    if (res.headersSent || res.destroyed) return
    this.status = status
    const streamed: NonNullable<CallRecord['streamed']> = { bytes: 0, end: 'open' }
    if (this.record !== null) {
      this.record.status = status
      this.record.streamed = streamed
    }
    res.writeHead(status, { 'x-dropbox-request-id': nextRequestId(), ...headers })
    const limit = this.resetAfterBytes
    const finish = (end: 'complete' | 'reset' | 'cancelled') => {
      if (streamed.end === 'open') streamed.end = end
    }
    res.once('close', () => finish(res.writableFinished ? 'complete' : 'cancelled'))
    const pump = (): void => {
      for (;;) {
        const next = chunks.next()
        if (next.done === true) {
          res.end(() => finish('complete'))
          return
        }
        let chunk = next.value
        if (limit !== undefined && streamed.bytes + chunk.length >= limit) {
          chunk = chunk.subarray(0, limit - streamed.bytes)
          streamed.bytes += chunk.length
          // RST once these bytes are out, as a connection dropped mid-body looks to a client.
          res.write(chunk, () => {
            finish('reset')
            res.socket?.resetAndDestroy()
          })
          return
        }
        streamed.bytes += chunk.length
        if (!res.write(chunk)) {
          res.once('drain', pump)
          return
        }
      }
    }
    pump()
  }

  json(status: number, body: unknown, headers?: Record<string, string>): void {
    this.send(status, JSON_TYPE, typeof body === 'string' ? body : JSON.stringify(body), headers)
  }

  text(status: number, body: string, headers?: Record<string, string>): void {
    this.send(status, TEXT_TYPE, body, headers)
  }

  html(status: number, body: string): void {
    this.send(status, HTML_TYPE, body, {
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      'referrer-policy': 'no-referrer',
    })
  }

  redirect(location: string, headers: Record<string, string> = {}): void {
    this.send(302, TEXT_TYPE, '', {
      ...headers,
      location,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    })
  }
}

/**
 * Dropbox pads `error_summary` with a varying number of dots (`path/not_found/..`,
 * `missing_scope/`); rotating them keeps clients honest about branching on `.tag`.
 */
const DOTS = ['', '.', '..', '...']
let dotIndex = 0

export function errorSummary(tags: readonly string[]): string {
  dotIndex = (dotIndex + 1) % DOTS.length
  return `${tags.join('/')}/${DOTS[dotIndex]}`
}

/** `{"error_summary": …, "error": …}`, the envelope of 401, 409, 422 and JSON 429 answers. */
export function errorEnvelope(tags: readonly string[], error: unknown): string {
  return JSON.stringify({ error_summary: errorSummary(tags), error })
}

/** 400s are plain text naming the function, as Dropbox words them. */
export function badRequest(reply: Reply, fn: string, message: string): void {
  reply.text(400, `Error in call to API function "${fn}": ${message}`)
}
