/**
 * `files/download` on the content host (Dropbox "content-download" endpoints): the argument
 * travels as JSON in the `Dropbox-API-Arg` header and the file's metadata comes back as JSON
 * in `Dropbox-API-Result`; the body is the bytes. HTTP headers carry ASCII only, so Dropbox
 * requires every character above U+007E escaped as `\uXXXX` (developers/documentation/http:
 * "JSON in HTTP headers").
 */
import { DropboxResponseError } from 'dropbox'
import type { Deadline } from '../cloud/deadline.ts'
import { RangeNotSatisfiableError, upstreamMalformed } from '../cloud/errors.ts'
import type { CloudDownload, CloudEntry } from '../cloud/models.ts'
import { headerJson } from '../header-json.ts'
import { type ContentResponse, type ContentTransport, readSmallBody } from './content-transport.ts'
import { toCloudEntry } from './mappers.ts'
import type { DropboxWorkspaceHandler } from './workspace-handler.ts'

const OPERATION = 'files/download'

/**
 * A JSON header value. Node hands header bytes over as Latin-1; a server that sent raw UTF-8
 * instead of escapes is read back as UTF-8 rather than as mojibake.
 */
export function parseHeaderJson(value: string): unknown {
  const bytes = Buffer.from(value, 'latin1')
  return JSON.parse(bytes.toString('utf8'))
}

export interface DownloadCall {
  content: ContentTransport
  token: string
  pathRoot: string | undefined
  dropboxPath: string
  range: string | undefined
  deadline: Deadline
  cancel: AbortSignal | undefined
}

/** Sends the request; a 200/206 head is returned with its body unread, anything else throws. */
export async function requestDownload(call: DownloadCall): Promise<ContentResponse> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${call.token}`,
    'dropbox-api-arg': headerJson({ path: call.dropboxPath }),
  }
  if (call.pathRoot !== undefined) headers['dropbox-api-path-root'] = call.pathRoot
  if (call.range !== undefined) headers.range = call.range
  const response = await call.content.post('files/download', headers, {
    deadline: call.deadline,
    cancel: call.cancel,
  })
  if (response.status === 200 || response.status === 206) return response
  const text = await readSmallBody(response.body)
  if (response.status === 416) {
    const size = /^bytes \*\/(\d+)$/.exec(response.header('content-range') ?? '')?.[1]
    throw new RangeNotSatisfiableError(size === undefined ? null : Number(size))
  }
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // Kept as text, as the SDK does (400s are plain text).
  }
  throw new DropboxResponseError(
    response.status,
    { get: (name: string) => response.header(name) ?? null },
    body,
  )
}

/** The answered head → a CloudDownload; a head that does not add up is a 502 and frees the body. */
export function toCloudDownload(
  response: ContentResponse,
  workspace: DropboxWorkspaceHandler,
): CloudDownload {
  try {
    const rawResult = response.header('dropbox-api-result')
    if (rawResult === undefined) throw upstreamMalformed(OPERATION)
    let result: unknown
    try {
      result = parseHeaderJson(rawResult)
    } catch {
      throw upstreamMalformed(OPERATION)
    }
    const entry = toCloudEntry(result, workspace, OPERATION, 'file')
    if (entry === null) throw upstreamMalformed(OPERATION)
    const length = response.header('content-length')
    const contentLength = length !== undefined && /^\d+$/.test(length) ? Number(length) : null
    const contentRange = response.header('content-range') ?? null
    if (response.status === 206 && contentRange === null) throw upstreamMalformed(OPERATION)
    return {
      entry: entry as CloudEntry & { type: 'file' },
      status: response.status as 200 | 206,
      contentLength,
      contentRange: response.status === 206 ? contentRange : null,
      body: response.body,
    }
  } catch (error) {
    response.body.destroy()
    throw error
  }
}
