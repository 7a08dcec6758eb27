/**
 * The floors the connector is measured against (issue 9), as a separate process:
 * - R0 `GET /r0/me`, `GET /r0/list`: Fastify + an undici pool forwarding to the emulator with a
 *   fixed token. One hop through Node; no identity, no vault, no logging.
 * - R1 `GET /r1/me`: R0 plus a `jose` verification of `X-Identity-Assertion`, uncached.
 * - R0-download `GET /r0/download?path=/x`: `files/download` on the content host, its body piped
 *   into the reply (undici stream → Fastify, with backpressure), Content-Length passed on.
 * Env: PORT, UPSTREAM (emulator URL), CONTENT_UPSTREAM (its content host), TOKEN,
 * IDENTITY_JWKS, IDENTITY_ISSUER.
 */
import Fastify from 'fastify'
import { importJWK, type JWK, jwtVerify } from 'jose'
import { Pool } from 'undici'

const env = process.env
const pool = new Pool(env.UPSTREAM as string, { connections: 256, pipelining: 1 })
const contentPool = new Pool(env.CONTENT_UPSTREAM ?? (env.UPSTREAM as string), { connections: 64 })
const authorization = `Bearer ${env.TOKEN}`
const jwk = (JSON.parse(env.IDENTITY_JWKS as string) as { keys: JWK[] }).keys[0] as JWK
const key = await importJWK(jwk, jwk.alg)
const verifyOptions = {
  issuer: env.IDENTITY_ISSUER,
  audience: 'cloud-connector',
  algorithms: [jwk.alg as string],
}

async function forward(path: string, body: string | null): Promise<Buffer> {
  const response = await pool.request({
    method: 'POST',
    path,
    headers:
      body === null ? { authorization } : { authorization, 'content-type': 'application/json' },
    body,
  })
  const payload = Buffer.from(await response.body.arrayBuffer())
  if (response.statusCode !== 200) throw new Error(`upstream ${response.statusCode}`)
  return payload
}

const app = Fastify({ logger: false })
app.get('/healthz', async () => ({ status: 'ok' }))
app.get('/r0/me', async (_request, reply) =>
  reply.type('application/json').send(await forward('/2/users/get_current_account', null)),
)
app.get('/r1/me', async (request, reply) => {
  await jwtVerify(String(request.headers['x-identity-assertion']), key, verifyOptions)
  return reply.type('application/json').send(await forward('/2/users/get_current_account', null))
})
const listArg = JSON.stringify({ path: '/Big' })
app.get('/r0/list', async (_request, reply) =>
  reply.type('application/json').send(await forward('/2/files/list_folder', listArg)),
)
app.get<{ Querystring: { path?: string } }>('/r0/download', async (request, reply) => {
  const response = await contentPool.request({
    method: 'POST',
    path: '/2/files/download',
    headers: {
      authorization,
      'dropbox-api-arg': JSON.stringify({ path: request.query.path ?? '' }),
    },
  })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`upstream ${response.statusCode}`)
  }
  return reply
    .type('application/octet-stream')
    .header('content-length', response.headers['content-length'])
    .send(response.body)
})
await app.listen({ port: Number(env.PORT), host: '127.0.0.1' })
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => Promise.all([pool.close(), contentPool.close()]))
    .then(() => process.exit(0))
})
