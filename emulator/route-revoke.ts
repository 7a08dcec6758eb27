/**
 * `auth/token/revoke` (Void → Void): disables the token, its refresh token and every other
 * access token minted from that refresh token (auth.stone).
 */
import type { RpcRoute } from './rpc.ts'

export const tokenRevoke: RpcRoute = {
  fn: 'auth/token/revoke',
  scope: null,
  validate: null,
  handle(ctx) {
    ctx.state.tokens.revokeGrant(ctx.token.grant)
    ctx.state.counters.revocations++
    ctx.reply.json(200, 'null')
  },
}
