/**
 * The content host (`DROPBOX_CONTENT_BASE_URL`, contract §8): requests whose answer is a byte
 * stream. Its own undici pool, so long downloads never hold the connections the small RPC
 * calls need. The body is undici's Readable, handed on unread: whoever pipes it owns it, and
 * destroying it aborts the upstream request (undici's `request` API).
 *
 * Two signals, two lifetimes: `deadline` (`UPSTREAM_TIMEOUT_MS`) bounds the wait for the
 * answer's head only — a 1 GiB body may take longer than any sensible per-call deadline —
 * while `cancel` (the caller went away) aborts the request at any point, body included.
 */
import type { Readable } from 'node:stream'
import { Agent } from 'undici'
import { type Deadline, whenStopped } from '../cloud/deadline.ts'

export interface ContentResponse {
  status: number
  header(name: string): string | undefined
  body: Readable
}

export interface ContentTransport {
  readonly baseUrl: string
  post(
    route: string,
    headers: Record<string, string>,
    signals: { deadline: Deadline; cancel?: AbortSignal },
  ): Promise<ContentResponse>
  close(): Promise<void>
}

export function createContentTransport(baseUrl: string): ContentTransport {
  const agent = new Agent({ connections: 128, keepAliveTimeout: 30_000, pipelining: 1 })
  const base = new URL(baseUrl)
  const basePath = base.pathname.replace(/\/$/, '')
  return {
    baseUrl,
    async post(route, headers, { deadline, cancel }) {
      const controller = new AbortController()
      const forgetCancel = whenStopped(cancel, () => controller.abort(cancel?.reason))
      const forgetDeadline = whenStopped(deadline, () => controller.abort(deadline.reason))
      try {
        const answer = await agent.request({
          origin: base.origin,
          path: `${basePath}/2/${route}`,
          method: 'POST',
          headers,
          signal: controller.signal,
        })
        answer.body.once('close', forgetCancel)
        const raw = answer.headers
        return {
          status: answer.statusCode,
          header(name) {
            const value = raw[name.toLowerCase()]
            return Array.isArray(value) ? value.join(', ') : value
          },
          body: answer.body,
        }
      } catch (error) {
        forgetCancel()
        throw error
      } finally {
        forgetDeadline()
      }
    },
    close: () => agent.close(),
  }
}

/** Reads at most `limit` bytes of an error answer's body as text; the rest is dropped. */
export async function readSmallBody(body: Readable, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const buffer = chunk as Buffer
    if (size + buffer.length > limit) {
      chunks.push(buffer.subarray(0, limit - size))
      body.destroy()
      break
    }
    chunks.push(buffer)
    size += buffer.length
  }
  return Buffer.concat(chunks).toString('utf8')
}
