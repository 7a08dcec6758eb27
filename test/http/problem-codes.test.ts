/**
 * Each operation's schema names the problem `code`s it can answer (contract §6), the OpenAPI
 * document carries them per status, and a route that answers any other code is caught: under
 * the tests' `strictProblemCodes` (every suite that builds the app through test/helper.ts) it
 * becomes a 500, so whichever test provoked it fails; in production it is logged.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { ServiceError } from '../../src/errors.ts'
import { statusOf } from '../../src/http/problem.ts'
import { problemResponses } from '../../src/http/schemas/problem.ts'
import { buildTestApp } from '../helper.ts'

function probeRoutes(app: FastifyInstance) {
  const schema = { response: { 200: { type: 'object' }, ...problemResponses('path_not_found') } }
  app.get('/probe/declared', { schema }, async () => {
    throw new ServiceError('path_not_found', 'No such file.')
  })
  app.get('/probe/undeclared', { schema }, async () => {
    throw new ServiceError('not_a_folder', 'Not a folder.')
  })
}

test('a declared code is answered as thrown', async (t) => {
  const { app } = await buildTestApp(t, { extraRoutes: probeRoutes })
  const response = await app.inject({ method: 'GET', url: '/probe/declared' })
  assert.equal(response.statusCode, 404)
  assert.equal(response.json().code, 'path_not_found')
})

test('an undeclared code fails under strictProblemCodes and is logged', async (t) => {
  const { app, logs } = await buildTestApp(t, { extraRoutes: probeRoutes })
  const response = await app.inject({ method: 'GET', url: '/probe/undeclared' })
  assert.equal(response.statusCode, 500)
  assert.equal(response.json().code, 'internal_error')
  const line = logs.parsed().find((entry) => entry.event === 'undeclared_problem_code')
  assert.equal(line?.code, 'not_a_folder')
  assert.equal(line?.route, '/probe/undeclared')
})

test('without strictProblemCodes the undeclared code still goes out, logged', async (t) => {
  const { app, logs } = await buildTestApp(t, {
    extraRoutes: probeRoutes,
    deps: { strictProblemCodes: false },
  })
  const response = await app.inject({ method: 'GET', url: '/probe/undeclared' })
  assert.equal(response.statusCode, 409)
  assert.ok(logs.parsed().some((entry) => entry.event === 'undeclared_problem_code'))
})

test('the OpenAPI document names the codes of every /v1 problem response, each under its status', async () => {
  const document = JSON.parse(
    await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'),
  ) as {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
  }
  let operations = 0
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith('/v1/')) continue
    for (const [method, operation] of Object.entries(methods)) {
      operations++
      const problems = Object.entries(operation.responses).filter(
        ([status]) => Number(status) >= 400,
      )
      assert.ok(problems.length > 0, `${method} ${path} lists no problem responses`)
      const codes = new Set<string>()
      for (const [status, response] of problems) {
        const listed = (
          response as {
            content?: Record<string, { schema?: { properties?: { code?: { enum?: string[] } } } }>
          }
        ).content?.['application/problem+json']?.schema?.properties?.code?.enum
        assert.ok(
          Array.isArray(listed) && listed.length > 0,
          `${method} ${path} ${status}: no codes`,
        )
        for (const code of listed) {
          assert.equal(
            statusOf(code as never),
            Number(status),
            `${method} ${path}: ${code} under ${status}`,
          )
          codes.add(code)
        }
      }
      for (const always of ['invalid_identity', 'invalid_request', 'internal_error'])
        assert.ok(codes.has(always), `${method} ${path} does not declare ${always}`)
    }
  }
  assert.ok(operations >= 8, `only ${operations} /v1 operations`)
})
