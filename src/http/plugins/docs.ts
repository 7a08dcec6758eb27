import swagger from '@fastify/swagger'
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import fp from 'fastify-plugin'
import { PROBLEM_CONTENT_TYPE } from '../problem.ts'
import { EntrySchema } from '../schemas/cloud.ts'
import { ProblemSchema } from '../schemas/problem.ts'

export const IDENTITY_SECURITY = [{ identityAssertion: [] }]

/** The OpenAPI 3.1 document is generated from the routes' TypeBox schemas (`npm run openapi`). */
const docs: FastifyPluginAsync = async (app) => {
  // Shared by reference (`Type.Ref`), so they appear once under components.schemas.
  app.addSchema(ProblemSchema)
  app.addSchema(EntrySchema)
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cloud-connector',
        version: '1.0.0',
        description:
          "Connects users' Dropbox accounts through OAuth 2.0, keeps their tokens in an encrypted vault, " +
          'and runs cloud operations for other backend services. Errors are RFC 9457 problem details ' +
          `(\`${PROBLEM_CONTENT_TYPE}\`) with a stable \`code\`.`,
      },
      tags: [
        { name: 'operations', description: 'Health, readiness and metrics for the platform.' },
        { name: 'connect', description: 'The OAuth connect flow.' },
        { name: 'connection', description: "The user's Dropbox connection." },
        { name: 'cloud', description: 'Cloud operations on the connected account.' },
      ],
      components: {
        securitySchemes: {
          identityAssertion: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Identity-Assertion',
            description:
              'A compact JWS (EdDSA or ES256) minted by the main app; `sub` is the user id.',
          },
        },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`),
    },
  })
  // The UI is built on the first /docs request: its static-file server loads some thirty
  // modules and ~3.5 MB that neither start-up nor the API needs.
  let ui: Promise<FastifyInstance> | undefined
  const serveUi = async (request: FastifyRequest, reply: FastifyReply) => {
    ui ??= docsUi(app).catch((error: unknown) => {
      ui = undefined
      throw error
    })
    const answer = await (await ui).inject({
      // HEAD asks for GET's answer: Fastify's HEAD route measures the body, then drops it.
      method: 'GET',
      url: request.url,
      headers: request.headers,
    })
    const headers = { ...answer.headers }
    for (const hop of HOP_HEADERS) delete headers[hop]
    // A file the UI does not have: the app's own 404, with the headers the UI's scope adds.
    if (answer.statusCode === 404) {
      delete headers['content-type']
      return reply.headers(headers).callNotFound()
    }
    reply.code(answer.statusCode).headers(headers)
    return answer.rawPayload.length > 0 ? reply.send(answer.rawPayload) : reply.send()
  }
  app.addHook('onClose', async () => {
    await (await ui?.catch(() => undefined))?.close()
  })
  app.get('/docs', { schema: { hide: true } }, serveUi)
  app.get('/docs/*', { schema: { hide: true } }, serveUi)
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

/** Set by this app's own server for the response it sends, not copied from the UI's answer. */
const HOP_HEADERS = ['connection', 'keep-alive', 'transfer-encoding', 'date', 'content-length']

/**
 * `@fastify/swagger-ui` exactly as it would be registered at `/docs`, in an instance of its own
 * that is never listened on: its document is the app's.
 */
async function docsUi(app: FastifyInstance): Promise<FastifyInstance> {
  const { default: swaggerUi } = await import('@fastify/swagger-ui')
  const instance = Fastify({ logger: false })
  // Stands in for @fastify/swagger (the UI declares it as a dependency): the app's document.
  const document = fp(
    async (ui: FastifyInstance) => {
      ui.decorate('swagger', ((options?: { yaml?: boolean }) =>
        app.swagger(options as { yaml: true })) as FastifyInstance['swagger'])
    },
    { name: '@fastify/swagger' },
  )
  await instance.register(document)
  await instance.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  await instance.ready()
  return instance
}

export default fp(docs, { name: 'docs' })
