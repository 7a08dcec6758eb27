/**
 * Errors Fastify answers before any route or error handler runs: a URL that does not decode, a
 * path parameter over the router's limit, and what Node's HTTP parser refuses (oversized
 * headers, malformed requests). They get problem+json like every other error (contract §6), with
 * fixed details: Fastify's own messages echo the URL, which can carry a connect token.
 */
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { sendProblem, toProblem } from './problem.ts'

const ROUTING_DETAILS: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not validly percent-encoded.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is too long.',
}

export function routingErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
) {
  const detail = ROUTING_DETAILS[error.code] ?? 'The request could not be routed.'
  const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 400
  return sendProblem(reply, { ...toProblem('invalid_request', detail), status })
}

const PARSER_ANSWERS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request took too long to arrive.'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The headers are too large.'],
}

/** Written straight to the socket: no request object exists yet, and the socket is closed. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket) {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, detail] = PARSER_ANSWERS[error.code ?? ''] ?? [
    400,
    'Bad Request',
    'The request is not valid HTTP.',
  ]
  if (socket.writable) {
    const body = JSON.stringify({ ...toProblem('invalid_request', detail), status })
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
