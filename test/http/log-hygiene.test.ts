import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helper.ts'

const SENTINELS = {
  query: 'QUERYSECRET-7f3a9c',
  authorization: 'AUTHSECRET-1b2c3d',
  cookie: 'COOKIESECRET-4e5f6a',
  assertion: 'ASSERTIONSECRET-8b9c0d',
  setCookie: 'SETCOOKIESECRET-2a2b2c',
  body: 'BODYSECRET-5d6e7f',
}

function routes(app: FastifyInstance) {
  app.post('/probe/echo-fail', async (_request, reply) => {
    reply.header('set-cookie', `flow=${SENTINELS.setCookie}; HttpOnly`)
    throw new Error('boom')
  })
}

test('no log line carries a query string, secret header, cookie or body', async (t) => {
  const { app, logs } = await buildTestApp(t, { extraRoutes: routes })
  const headers = {
    authorization: `Bearer ${SENTINELS.authorization}`,
    cookie: `cc_flow=${SENTINELS.cookie}`,
    'x-identity-assertion': SENTINELS.assertion,
  }
  for (const url of [
    `/healthz?code=${SENTINELS.query}&state=${SENTINELS.query}`,
    `/connect/callback?code=${SENTINELS.query}`,
    `/v1/unknown?token=${SENTINELS.query}`,
  ]) {
    await app.inject({ method: 'GET', url, headers })
  }
  await app.inject({
    method: 'POST',
    url: `/probe/echo-fail?code=${SENTINELS.query}`,
    headers,
    payload: { secret: SENTINELS.body },
  })

  assert.ok(logs.lines.length >= 4, 'every request is logged')
  for (const [name, value] of Object.entries(SENTINELS)) {
    assert.ok(!logs.text.includes(value), `the ${name} sentinel reached the logs`)
  }
  const completed = logs.parsed().filter((line) => line.msg === 'request completed')
  assert.deepEqual(
    completed.map((line) => line.route),
    ['/healthz', '/connect/callback', '(unmatched)', '/probe/echo-fail'],
  )
})
