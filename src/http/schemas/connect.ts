import { Type } from 'typebox'

export const ConnectSessionCreatedSchema = Type.Object({
  id: Type.String({
    description: 'Connect session id; the return page passes it back to `complete`.',
  }),
  connect_url: Type.String({
    format: 'uri',
    description: "Send the user's browser here (single use, 10 minutes).",
  }),
  expires_at: Type.String({ format: 'date-time' }),
})

export const ConnectionStatusSchema = Type.Object(
  {
    provider: Type.Literal('dropbox'),
    status: Type.Union([
      Type.Literal('connected'),
      Type.Literal('reconnect_required'),
      Type.Literal('not_connected'),
    ]),
    account_id: Type.Optional(Type.String()),
    email: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    scopes: Type.Optional(Type.Array(Type.String())),
    connected_at: Type.Optional(Type.String({ format: 'date-time' })),
    access_token_expires_at: Type.Optional(Type.String({ format: 'date-time' })),
    reason: Type.Optional(
      Type.Union([Type.Literal('revoked'), Type.Literal('missing_scope')], {
        description:
          'With `reconnect_required`: the grant was revoked or expired, or an operation needs a scope it lacks.',
      }),
    ),
    missing_scope: Type.Optional(
      Type.String({ description: 'With `reason: "missing_scope"`: the scope Dropbox asked for.' }),
    ),
  },
  { description: "The user's connection; never a token." },
)

export const CompleteBodySchema = Type.Object(
  {
    // Optional in the schema so that a missing secret is the 403 of contract §3.4, not a 400.
    completion: Type.Optional(
      Type.String({
        maxLength: 256,
        description:
          'The `completion` parameter of the return URL: proves that the browser that consented is the one completing.',
      }),
    ),
  },
  { additionalProperties: false },
)

export const SessionIdParamsSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
})

export const ConnectQuerySchema = Type.Object({
  token: Type.String({
    minLength: 1,
    maxLength: 256,
    description: 'The single-use connect token.',
  }),
})

export const CallbackQuerySchema = Type.Object({
  state: Type.Optional(Type.String({ maxLength: 512 })),
  code: Type.Optional(Type.String({ maxLength: 2048 })),
  error: Type.Optional(Type.String({ maxLength: 256 })),
  error_description: Type.Optional(Type.String({ maxLength: 2048 })),
})
