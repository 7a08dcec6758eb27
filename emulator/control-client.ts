/** The control API from another process: the same methods as the emulator object, async. */
import type { ConsentChoice, EmulatorControl } from './types.ts'

type Async<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never
}

export interface EmulatorControlClient extends Async<EmulatorControl> {
  consent(authorizeUrl: string, choice: ConsentChoice): Promise<string>
  state(): Promise<unknown>
}

export function createControlClient(emulatorUrl: string): EmulatorControlClient {
  const base = `${emulatorUrl.replace(/\/$/, '')}/__emulator/`
  async function call(
    method: 'GET' | 'POST',
    name: string,
    args?: Record<string, unknown>,
  ): Promise<unknown> {
    const response = await fetch(base + name, {
      method,
      ...(method === 'POST'
        ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(args ?? {}) }
        : {}),
    })
    const body = (await response.json()) as { error?: string }
    if (!response.ok) throw new Error(`emulator ${name}: ${body.error ?? response.status}`)
    return body
  }
  const post = async (name: string, args?: Record<string, unknown>) => {
    await call('POST', name, args)
  }
  return {
    registerApp: (app) => post('register-app', { ...app }),
    seedAccount: (spec) => post('seed-account', { ...spec }),
    addFiles: (accountId, files) => post('add-files', { accountId, files }),
    deleteFile: (accountId, path, namespace) => post('delete-file', { accountId, path, namespace }),
    expireAccessTokens: (accountId, options) =>
      post('expire-access-tokens', { accountId, ...options }),
    revokeRefreshTokens: (accountId) => post('revoke-refresh-tokens', { accountId }),
    migrateToTeam: (accountId, team) => post('migrate-to-team', { accountId, team }),
    resetCursors: (accountId) => post('reset-cursors', { accountId }),
    advanceClock: (seconds) => post('advance-clock', { seconds }),
    injectFault: (route, fault, times) => post('inject-fault', { route, fault, times }),
    clearFaults: () => post('clear-faults'),
    resetCounters: () => post('reset-counters'),
    counters: async () =>
      (await call('GET', 'counters')) as Awaited<ReturnType<EmulatorControl['counters']>>,
    state: () => call('GET', 'state'),
    consent: async (authorizeUrl, choice) =>
      ((await call('POST', 'consent', { authorizeUrl, ...choice })) as { location: string })
        .location,
  }
}
