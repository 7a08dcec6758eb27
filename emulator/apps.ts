/** Registered apps, as in the App Console: key, secret, exact redirect URIs, permitted scopes. */
import type { AppRegistration } from './types.ts'

/** The user scopes of the Dropbox Permissions tab. */
export const USER_SCOPES = [
  'account_info.read',
  'account_info.write',
  'contacts.read',
  'contacts.write',
  'file_requests.read',
  'file_requests.write',
  'files.content.read',
  'files.content.write',
  'files.metadata.read',
  'files.metadata.write',
  'sharing.read',
  'sharing.write',
  'openid',
  'profile',
  'email',
] as const

export const DEFAULT_APP: AppRegistration = {
  appKey: 'test-app-key',
  appSecret: 'test-app-secret',
  redirectUris: ['http://localhost:8080/connect/callback'],
}

export interface App {
  readonly appKey: string
  readonly appSecret: string
  readonly redirectUris: ReadonlySet<string>
  readonly scopes: ReadonlySet<string>
}

export class AppRegistry {
  readonly #apps = new Map<string, App>()

  register(app: AppRegistration): void {
    if (typeof app.appKey !== 'string' || !/^[a-z0-9-]{1,64}$/i.test(app.appKey)) {
      throw new TypeError('registerApp: appKey must be 1-64 letters, digits or "-"')
    }
    if (typeof app.appSecret !== 'string' || app.appSecret === '') {
      throw new TypeError('registerApp: appSecret must be a non-empty string')
    }
    if (!Array.isArray(app.redirectUris) || app.redirectUris.length === 0) {
      throw new TypeError('registerApp: redirectUris must list at least one URI')
    }
    for (const uri of app.redirectUris) {
      if (!URL.canParse(uri) || new URL(uri).hash !== '') {
        throw new TypeError(
          `registerApp: redirect URI is not an absolute URI without fragment: ${uri}`,
        )
      }
    }
    const scopes = app.scopes ?? [...USER_SCOPES]
    for (const scope of scopes) {
      if (!(USER_SCOPES as readonly string[]).includes(scope)) {
        throw new TypeError(`registerApp: unknown scope ${JSON.stringify(scope)}`)
      }
    }
    this.#apps.set(app.appKey, {
      appKey: app.appKey,
      appSecret: app.appSecret,
      redirectUris: new Set(app.redirectUris),
      scopes: new Set(scopes),
    })
  }

  get(appKey: string): App | undefined {
    return this.#apps.get(appKey)
  }

  list(): App[] {
    return [...this.#apps.values()]
  }
}
