/**
 * `/__emulator/*`: the control methods over HTTP, for processes that cannot hold the
 * emulator object (the demo, the benchmark, a service under test run as a child).
 * `POST /__emulator/<method-in-kebab-case>` with the method's arguments as a JSON object.
 */
import type { Reply } from './http-io.ts'
import type {
  AccountSpec,
  AppRegistration,
  EmulatorControl,
  Fault,
  FileSpec,
  Namespace,
  TeamSpec,
} from './types.ts'

export interface ControlTarget extends EmulatorControl {
  consent(authorizeUrl: string, choice: unknown): Promise<string>
  describe(): unknown
}

type Args = Record<string, unknown>

const POST_METHODS: Record<string, (target: ControlTarget, args: Args) => unknown> = {
  'register-app': (t, a) => t.registerApp(a as unknown as AppRegistration),
  'seed-account': (t, a) => t.seedAccount(a as unknown as AccountSpec),
  'add-files': (t, a) => t.addFiles(a.accountId as string, a.files as FileSpec[]),
  'delete-file': (t, a) =>
    t.deleteFile(a.accountId as string, a.path as string, a.namespace as Namespace | undefined),
  'expire-access-tokens': (t, a) =>
    t.expireAccessTokens(a.accountId as string | undefined, {
      olderThanMs: a.olderThanMs as number | undefined,
    }),
  'revoke-refresh-tokens': (t, a) => t.revokeRefreshTokens(a.accountId as string),
  'migrate-to-team': (t, a) =>
    t.migrateToTeam(a.accountId as string, a.team as Partial<TeamSpec> | undefined),
  'reset-cursors': (t, a) => t.resetCursors(a.accountId as string),
  'advance-clock': (t, a) => t.advanceClock(a.seconds as number),
  'inject-fault': (t, a) =>
    t.injectFault(a.route as string, a.fault as Fault, a.times as number | undefined),
  'clear-faults': (t) => t.clearFaults(),
  'reset-counters': (t) => t.resetCounters(),
  consent: async (t, a) => ({
    location: await t.consent(a.authorizeUrl as string, {
      accountId: a.accountId,
      decision: a.decision,
    }),
  }),
}

const GET_METHODS: Record<string, (target: ControlTarget) => unknown> = {
  health: () => ({ ok: true }),
  counters: (t) => t.counters(),
  state: (t) => t.describe(),
}

export async function handleControl(
  target: ControlTarget,
  method: string,
  name: string,
  body: Buffer,
  reply: Reply,
): Promise<void> {
  const getter = method === 'GET' ? GET_METHODS[name] : undefined
  const poster = method === 'POST' ? POST_METHODS[name] : undefined
  if (getter === undefined && poster === undefined) {
    const known = Object.hasOwn(GET_METHODS, name) || Object.hasOwn(POST_METHODS, name)
    reply.json(known ? 405 : 404, {
      error: known ? 'wrong method' : `unknown control method ${JSON.stringify(name)}`,
    })
    return
  }
  try {
    if (getter !== undefined) {
      reply.json(200, getter(target))
      return
    }
    const args = body.length === 0 ? {} : JSON.parse(body.toString('utf8'))
    if (typeof args !== 'object' || args === null || Array.isArray(args))
      throw new TypeError('arguments must be a JSON object')
    const result = await (poster as NonNullable<typeof poster>)(target, args as Args)
    reply.json(200, result ?? { ok: true })
  } catch (error) {
    reply.json(400, { error: (error as Error)?.message ?? String(error) })
  }
}
