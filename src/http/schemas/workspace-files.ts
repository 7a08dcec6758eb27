import { Type } from 'typebox'

const PATH = Type.String({
  maxLength: 4096,
  description: 'Relative to the workspace root (contract §4); "" is the root itself.',
})

export const MetadataQuerySchema = Type.Object({ path: PATH })

export const DownloadQuerySchema = Type.Object({
  path: Type.String({ ...PATH, description: 'The file, relative to the workspace root.' }),
})

export const DownloadHeadersSchema = Type.Object({
  range: Type.Optional(
    Type.String({
      maxLength: 256,
      description:
        'One byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-1024`), passed to Dropbox; ' +
        'other units are ignored (RFC 9110 §14.2).',
    }),
  ),
})

const header = (description: string, schema: object = { type: 'string' }) => ({
  ...schema,
  description,
})

/** The streamed body and its headers (contract §5); the body is never JSON. */
export function downloadResponse(status: 200 | 206) {
  return {
    description:
      status === 200
        ? 'The whole file, streamed.'
        : 'The requested range (`Range` was given and Dropbox honoured it).',
    headers: {
      'content-length': header('Bytes in this body.', { type: 'integer' }),
      ...(status === 206 ? { 'content-range': header('`bytes first-last/size`.') } : {}),
      etag: header('`"<content_hash>"` (Dropbox content hash).'),
      'last-modified': header("The file's server modification time (IMF-fixdate)."),
      'content-disposition': header(
        '`attachment` with an ASCII `filename` fallback and the exact name as RFC 8187 `filename*`.',
      ),
      'cloud-entry': header("The file's entry (the listing shape) as JSON, non-ASCII escaped."),
    },
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  }
}
