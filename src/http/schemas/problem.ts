import { Type } from 'typebox'
import type { ErrorCode } from '../../errors.ts'
import { statusOf } from '../problem.ts'

const problemProperties = {
  type: Type.String({ description: 'A URI naming the problem type.' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String({
    description: 'What went wrong; never carries secrets or internal detail.',
  }),
  code: Type.String({ description: 'Stable machine-readable code (contract §6).' }),
}

export const ProblemSchema = Type.Object(problemProperties, {
  $id: 'Problem',
  title: 'Problem',
  description: 'RFC 9457 problem details.',
})

/** Any route can answer these: a request that fails its schema, a bug, a draining instance. */
const EVERY_ROUTE: ErrorCode[] = ['invalid_request', 'internal_error', 'shutting_down']

/** Every `/v1` route: the identity plugin refuses before the handler runs (contract §2). */
export const IDENTIFIED: ErrorCode[] = ['invalid_identity', 'operation_not_allowed']

/** What a call that reaches Dropbox can answer besides its own codes (contract §6). */
export const UPSTREAM: ErrorCode[] = [
  'not_connected',
  'reconnect_required',
  'upstream_rate_limited',
  'upstream_error',
  'upstream_unavailable',
  'upstream_timeout',
]

/**
 * The problem responses of one operation, from the `code`s it can answer: grouped by their
 * status, each status's schema naming its codes as an enum, so the OpenAPI document tells a
 * caller exactly what to catch. `declaredProblemCodes` (../problem.ts) reads them back.
 */
export function problemResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of new Set([...codes, ...EVERY_ROUTE])) {
    const status = statusOf(code)
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      {
        description: `Problem details: ${list.map((code) => `\`${code}\``).join(', ')}.`,
        content: {
          'application/problem+json': {
            schema: Type.Object({
              ...problemProperties,
              code: Type.Unsafe<ErrorCode>({
                type: 'string',
                enum: list,
                description: 'Stable machine-readable code (contract §6).',
              }),
            }),
          },
        },
      },
    ]),
  )
}
