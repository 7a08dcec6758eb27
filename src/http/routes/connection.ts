import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ConnectFlow } from '../../connect/connect-flow.ts'
import { IDENTITY_SECURITY } from '../plugins/docs.ts'
import { requireIdentity } from '../plugins/identity.ts'
import { ConnectionStatusSchema } from '../schemas/connect.ts'
import { IDENTIFIED, problemResponses } from '../schemas/problem.ts'

const connection: FastifyPluginAsyncTypebox<{ flow: ConnectFlow }> = async (app, { flow }) => {
  app.get(
    '/connection',
    {
      config: { operation: 'connection.read' },
      schema: {
        tags: ['connection'],
        summary: "The user's Dropbox connection status (never a token).",
        security: IDENTITY_SECURITY,
        response: { 200: ConnectionStatusSchema, ...problemResponses(...IDENTIFIED) },
      },
    },
    async (request) => flow.status(requireIdentity(request).userId),
  )

  app.delete(
    '/connection',
    {
      config: { operation: 'connection.delete' },
      schema: {
        tags: ['connection'],
        summary:
          'Disconnect: revoke at Dropbox (best effort) and delete the connection and its secrets.',
        security: IDENTITY_SECURITY,
        response: {
          204: Type.Null({ description: 'Disconnected (also when there was nothing to delete).' }),
          ...problemResponses(...IDENTIFIED),
        },
      },
    },
    async (request, reply) => {
      await flow.disconnect(requireIdentity(request))
      return reply.code(204).send(null)
    },
  )
}

export default connection
