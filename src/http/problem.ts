import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, ServiceError } from '../errors.ts'

/** RFC 9457 problem details; `code` is the stable, machine-readable part (contract §6). */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
}

const STATUS_AND_TITLE: Record<ErrorCode, [number, string]> = {
  invalid_request: [400, 'Invalid request'],
  invalid_path: [400, 'Invalid path'],
  invalid_cursor: [400, 'Invalid cursor'],
  invalid_identity: [401, 'Invalid identity assertion'],
  session_user_mismatch: [403, 'Connect session belongs to another user'],
  completion_mismatch: [403, 'Completion secret does not match'],
  session_already_completed: [409, 'Connect session already completed'],
  operation_not_allowed: [403, 'Operation not allowed for this caller'],
  not_found: [404, 'Not found'],
  path_not_found: [404, 'Path not found'],
  session_not_found: [404, 'Connect session not found'],
  not_connected: [409, 'No cloud connection'],
  reconnect_required: [409, 'Reconnect required'],
  not_a_folder: [409, 'Not a folder'],
  not_a_file: [409, 'Not a file'],
  range_not_satisfiable: [416, 'Range not satisfiable'],
  session_not_authorized: [409, 'Connect session not authorized'],
  session_expired: [410, 'Connect session expired'],
  upstream_rate_limited: [429, 'Upstream rate limited'],
  upstream_error: [502, 'Upstream error'],
  upstream_unavailable: [503, 'Upstream unavailable'],
  upstream_timeout: [504, 'Upstream timeout'],
  shutting_down: [503, 'Shutting down'],
  internal_error: [500, 'Internal error'],
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

export function statusOf(code: ErrorCode): number {
  return STATUS_AND_TITLE[code][0]
}

export function toProblem(code: ErrorCode, detail: string): Problem {
  const [status, title] = STATUS_AND_TITLE[code]
  return {
    type: `https://cloud-connector.dev/problems/${code.replaceAll('_', '-')}`,
    title,
    status,
    detail,
    code,
  }
}

function describeValidation(error: FastifyError): string {
  const first = error.validation?.[0]
  if (!first) return 'The request is not valid.'
  const where = error.validationContext ?? 'request'
  const path = first.instancePath ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') : ''
  const missing = (first.params as { missingProperty?: string } | undefined)?.missingProperty
  const field = [where, path, missing].filter(Boolean).join('.')
  return `${field}: ${first.message ?? 'is not valid'}`
}

/** Maps every error to problem+json; 5xx details are masked and logged instead. */
export function problemFromError(error: unknown): { problem: Problem; retryAfter?: number } {
  if (error instanceof ServiceError) {
    const status = statusOf(error.code)
    const detail =
      status >= 500 && error.code === 'internal_error' ? 'Internal error.' : error.detail
    return { problem: toProblem(error.code, detail), retryAfter: error.retryAfterSeconds }
  }
  const fastifyError = error as Partial<FastifyError>
  if (fastifyError.validation) {
    return {
      problem: toProblem('invalid_request', describeValidation(fastifyError as FastifyError)),
    }
  }
  const status = fastifyError.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own 4xx (bad JSON, wrong content type, body too large): their messages
    // describe the request's shape, never its secret content.
    return {
      problem: { ...toProblem('invalid_request', fastifyError.message ?? 'Bad request.'), status },
    }
  }
  return { problem: toProblem('internal_error', 'Internal error.') }
}

export function sendProblem(reply: FastifyReply, problem: Problem, retryAfter?: number) {
  problem = holdToDeclaredCodes(reply, problem)
  if (retryAfter !== undefined)
    reply.header('retry-after', String(Math.max(0, Math.ceil(retryAfter))))
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem)
}

export function problemErrorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { problem, retryAfter } = problemFromError(error)
  if (problem.status >= 500) request.log.error({ err: error }, 'request failed')
  return sendProblem(reply, problem, retryAfter)
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return sendProblem(reply, toProblem('not_found', `No route for ${request.method} on this path.`))
}

interface ResponseEntry {
  content?: Record<string, { schema?: { properties?: { code?: { enum?: unknown } } } }>
}

const declaredByResponse = new WeakMap<object, ReadonlySet<string> | undefined>()

/** The codes a route's response schema declares, or `undefined` for a route that lists none. */
export function declaredProblemCodes(response: unknown): ReadonlySet<string> | undefined {
  if (typeof response !== 'object' || response === null) return undefined
  if (declaredByResponse.has(response)) return declaredByResponse.get(response)
  let codes: Set<string> | undefined
  for (const entry of Object.values(response as Record<string, ResponseEntry>)) {
    const listed = entry?.content?.['application/problem+json']?.schema?.properties?.code?.enum
    if (Array.isArray(listed)) codes = new Set([...(codes ?? []), ...listed.map(String)])
  }
  declaredByResponse.set(response, codes)
  return codes
}

/**
 * A route answers only the codes its schema declares (so the OpenAPI document is the truth).
 * An undeclared code is a bug: logged as such, and under `strictProblemCodes` (the tests) it
 * becomes a 500 so the test that provoked it fails.
 */
function holdToDeclaredCodes(reply: FastifyReply, problem: Problem): Problem {
  const request = reply.request
  const declared = declaredProblemCodes(request.routeOptions?.schema?.response)
  if (declared === undefined || declared.has(problem.code)) return problem
  request.log.error(
    { event: 'undeclared_problem_code', code: problem.code, route: request.routeOptions.url },
    'a route answered a problem code its schema does not declare',
  )
  const strict = (request.server as { strictProblemCodes?: boolean }).strictProblemCodes
  return strict === true ? toProblem('internal_error', 'Internal error.') : problem
}
