/**
 * A stand-in for Dropbox's API host in front of the emulator (`DROPBOX_API_BASE_URL`), for tests
 * that must see or change what Dropbox answers: the emulator follows Dropbox, so it never
 * answers in a wrong shape, and it does not hand its tokens to a test. Every request is forwarded
 * as sent; `answer` sees each answer and gives back the body the connector gets.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SeenAnswer {
  /** The request's path and query, e.g. `/2/files/list_folder` or `/oauth2/token`. */
  path: string
  status: number
  body: Buffer
}

const REQUEST_HOP_BY_HOP = [
  'host',
  'connection',
  'keep-alive',
  'content-length',
  'transfer-encoding',
]
const ANSWER_NOT_FORWARDED = [
  'content-length',
  'transfer-encoding',
  'connection',
  'content-encoding',
]

export async function dropboxInFront(
  target: () => string,
  answer: (seen: SeenAnswer) => Buffer = (seen) => seen.body,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(
        (entry): entry is [string, string] =>
          !REQUEST_HOP_BY_HOP.includes(entry[0]) && typeof entry[1] === 'string',
      ),
    )
    try {
      const upstream = await fetch(`${target()}${request.url}`, {
        method: request.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      })
      const path = request.url ?? ''
      const body = answer({
        path,
        status: upstream.status,
        body: Buffer.from(await upstream.arrayBuffer()),
      })
      const forwarded = Object.fromEntries(
        [...upstream.headers].filter(([name]) => !ANSWER_NOT_FORWARDED.includes(name)),
      )
      response.writeHead(upstream.status, forwarded).end(body)
    } catch {
      response.destroy()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
