/** `users/get_current_account` (Void → FullAccount), answered from the account's cached JSON. */
import type { RpcRoute } from './rpc.ts'

export const getCurrentAccount: RpcRoute = {
  fn: 'users/get_current_account',
  scope: 'account_info.read',
  validate: null,
  handle(ctx) {
    ctx.reply.json(200, ctx.account.currentAccountJson)
  },
}
