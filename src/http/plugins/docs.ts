import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyPluginAsync } from 'fastify'
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
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export default fp(docs, { name: 'docs' })
