/**
 * pino options shared by the service and its tests. Request logs name the route pattern,
 * never the URL (its query can carry `code`, `state` or a connect token; contract §9).
 */
import type { FastifyRequest } from 'fastify'
import pino, { type DestinationStream, type Logger } from 'pino'

/** Defence in depth: our serializers never emit headers, but nothing else may either. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-identity-assertion"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-identity-assertion"]',
  'headers["set-cookie"]',
]

interface ErrorLike {
  name?: string
  message?: string
  code?: unknown
  stack?: string
  cause?: unknown
}

/**
 * Keeps only an error's type, message, code and stack. pino's standard serializer copies
 * every enumerable property, and SDK errors carry response headers and bodies.
 */
export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (typeof error !== 'object' || error === null) return { message: String(error) }
  const e = error as ErrorLike
  const out: Record<string, unknown> = { type: e.name ?? 'Error', message: e.message }
  if (typeof e.code === 'string') out.code = e.code
  if (e.stack) out.stack = e.stack
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1)
  return out
}

export function routeOf(request: FastifyRequest): string {
  return request.routeOptions?.url ?? '(unmatched)'
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        err: serializeError,
        error: serializeError,
        req: (request: FastifyRequest) => ({ method: request.method, route: routeOf(request) }),
        res: (reply: { statusCode: number }) => ({ status: reply.statusCode }),
      },
    },
    destination,
  )
}
