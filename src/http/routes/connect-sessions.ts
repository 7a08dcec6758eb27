import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ConnectFlow } from '../../connect/connect-flow.ts'
import { IDENTITY_SECURITY } from '../plugins/docs.ts'
import { requireIdentity } from '../plugins/identity.ts'
import {
  CompleteBodySchema,
  ConnectionStatusSchema,
  ConnectSessionCreatedSchema,
  SessionIdParamsSchema,
} from '../schemas/connect.ts'
import { IDENTIFIED, problemResponses, UPSTREAM } from '../schemas/problem.ts'

const connectSessions: FastifyPluginAsyncTypebox<{ flow: ConnectFlow }> = async (app, { flow }) => {
  app.post(
    '/connect/sessions',
    {
      config: { operation: 'connect' },
      schema: {
        tags: ['connect'],
        summary: "Start connecting Dropbox: returns the URL to send the user's browser to.",
        security: IDENTITY_SECURITY,
        response: { 201: ConnectSessionCreatedSchema, ...problemResponses(...IDENTIFIED) },
      },
    },
    async (request, reply) => {
      const session = await flow.createSession(requireIdentity(request))
      return reply.code(201).send({
        id: session.id,
        connect_url: session.connectUrl,
        expires_at: session.expiresAt.toISOString(),
      })
    },
  )

  app.post(
    '/connect/sessions/:id/complete',
    {
      config: { operation: 'connect' },
      // No body at all is a missing completion secret (403, contract §3.4), not a malformed request.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {}
      },
      schema: {
        tags: ['connect'],
        summary: 'Finish connecting after the browser came back: only for the user who started it.',
        description:
          "Exchanges the authorization code (with the PKCE verifier) only when the session's user equals the " +
          "assertion's `sub` and `completion` is the secret of the return URL; either refusal cancels a session " +
          'that is not yet completed. A transient upstream failure leaves the session completable. ' +
          'Replaces (and revokes) any earlier connection.',
        security: IDENTITY_SECURITY,
        params: SessionIdParamsSchema,
        body: CompleteBodySchema,
        response: {
          200: ConnectionStatusSchema,
          ...problemResponses(
            ...IDENTIFIED,
            ...UPSTREAM,
            'session_not_found',
            'session_user_mismatch',
            'session_not_authorized',
            'session_expired',
            'completion_mismatch',
            'session_already_completed',
          ),
        },
      },
    },
    async (request) =>
      flow.complete(request.params.id, requireIdentity(request), request.body?.completion),
  )
}

export default connectSessions
