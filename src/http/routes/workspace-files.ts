/**
 * `GET /v1/workspace/metadata` and `GET /v1/workspace/download` (contract §5). A download is
 * piped from Dropbox's content host to the caller: Fastify's stream send applies backpressure
 * (nothing is buffered beyond the two sockets' windows), destroys the upstream body when the
 * caller disconnects (which aborts the upstream request), and cuts the response short when
 * the upstream body fails mid-way, so the caller sees fewer bytes than `Content-Length`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RangeNotSatisfiableError } from '../../cloud/errors.ts'
import type { CloudDownload } from '../../cloud/models.ts'
import type { CloudClientFactory } from '../../cloud/protocols.ts'
import { headerJson } from '../../header-json.ts'
import { attachmentDisposition } from '../content-disposition.ts'
import { IDENTITY_SECURITY } from '../plugins/docs.ts'
import { requireIdentity } from '../plugins/identity.ts'
import { problemResponses } from '../schemas/problem.ts'
import {
  DownloadHeadersSchema,
  DownloadQuerySchema,
  downloadResponse,
  MetadataQuerySchema,
} from '../schemas/workspace-files.ts'
import { entryView } from './cloud.ts'

const METADATA_PROBLEMS = problemResponses(400, 401, 403, 404, 409, 429, 500, 502, 503, 504)
const DOWNLOAD_PROBLEMS = problemResponses(400, 401, 403, 404, 409, 416, 429, 500, 502, 503, 504)

/** Only the `bytes` unit goes upstream; any other unit is ignored (RFC 9110 §14.2). */
function byteRange(range: string | undefined): string | undefined {
  return range !== undefined && /^bytes=[\x21-\x7e ]+$/i.test(range) ? range : undefined
}

function downloadHeaders(download: CloudDownload): Record<string, string> {
  const { entry } = download
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-disposition': attachmentDisposition(entry.name),
    'cloud-entry': headerJson(entryView(entry)),
    'accept-ranges': 'bytes',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  }
  if (download.contentLength !== null) headers['content-length'] = String(download.contentLength)
  if (download.contentRange !== null) headers['content-range'] = download.contentRange
  if (entry.contentHash !== undefined) headers.etag = `"${entry.contentHash}"`
  const modified = entry.modifiedAt === undefined ? Number.NaN : Date.parse(entry.modifiedAt)
  if (Number.isFinite(modified)) headers['last-modified'] = new Date(modified).toUTCString()
  return headers
}

const workspaceFiles: FastifyPluginAsyncTypebox<{ clients: CloudClientFactory }> = async (
  app,
  { clients },
) => {
  app.get(
    '/workspace/metadata',
    {
      config: { operation: 'workspace.read' },
      schema: {
        tags: ['cloud'],
        summary: 'One file or folder of the workspace.',
        description:
          'The entry in the listing shape; the workspace root itself is a folder with `path` "".',
        security: IDENTITY_SECURITY,
        querystring: MetadataQuerySchema,
        response: { 200: { $ref: 'Entry' }, ...METADATA_PROBLEMS },
      },
    },
    async (request) => {
      const client = await clients.forUser(requireIdentity(request).userId)
      return entryView(await client.getMetadata(request.query.path))
    },
  )

  app.get(
    '/workspace/download',
    {
      config: { operation: 'workspace.read' },
      schema: {
        tags: ['cloud'],
        summary: "Stream a file's bytes (or one range of them).",
        description:
          'Errors before the first byte are problem+json; a failure mid-stream ends the response ' +
          'early, so the body is shorter than `Content-Length`. A folder is `409 not_a_file`.',
        security: IDENTITY_SECURITY,
        querystring: DownloadQuerySchema,
        headers: DownloadHeadersSchema,
        response: {
          200: downloadResponse(200),
          206: downloadResponse(206),
          ...DOWNLOAD_PROBLEMS,
        },
      },
    },
    async (request, reply) => {
      // The caller going away before the stream starts cancels the upstream call as well.
      const cancel = new AbortController()
      const onClose = () => {
        if (!reply.raw.writableFinished) cancel.abort(new Error('the caller disconnected'))
      }
      reply.raw.once('close', onClose)
      let download: CloudDownload
      try {
        const client = await clients.forUser(requireIdentity(request).userId)
        download = await client.download({
          path: request.query.path,
          range: byteRange(request.headers.range),
          signal: cancel.signal,
        })
      } catch (error) {
        if (cancel.signal.aborted) {
          request.log.info({ event: 'download_cancelled' }, 'the caller left before the download')
          return reply.hijack()
        }
        if (error instanceof RangeNotSatisfiableError && error.size !== null) {
          reply.header('content-range', `bytes */${error.size}`)
        }
        throw error
      }
      download.body.once('error', (error: Error & { code?: string }) => {
        if (cancel.signal.aborted) return
        request.log.warn(
          { event: 'download_interrupted', reason: error.code ?? error.name },
          'the upstream download failed mid-stream; the response was cut short',
        )
      })
      return reply.code(download.status).headers(downloadHeaders(download)).send(download.body)
    },
  )
}

export default workspaceFiles
