/**
 * The demo's secrets, generated on first run into the git-ignored demo folder and reused
 * afterwards: a vault key for the connector and the main app's identity key pair. A real
 * deployment makes them with `npm run vault:keygen` and `npm run identity:keygen` and keeps
 * them in a secret store.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { JWK } from 'jose'
import { generateIdentityKeyPair } from '../src/identity/keygen.ts'

/** The main app's `iss`; the connector gets it as `IDENTITY_ISSUER`. */
export const DEMO_IDENTITY_ISSUER = 'demo-main-app'

export interface DemoKeys {
  /** `VAULT_KEYS` for the connector. */
  vaultKeys: string
  /** The main app's signing key (a secret: only the main app holds it). */
  identityPrivateJwk: JWK
  /** The public JWKS file, given to the connector as `IDENTITY_JWKS`. */
  identityJwksPath: string
  /** Whether this run generated the keys. */
  created: boolean
}

export async function loadOrCreateDemoKeys(dir: string): Promise<DemoKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const keysPath = join(dir, 'keys.json')
  let saved: { vaultKeys: string; identityPrivateJwk: JWK } | undefined
  try {
    saved = JSON.parse(await readFile(keysPath, 'utf8'))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const created = saved === undefined
  if (saved === undefined) {
    // An X25519 secret key is any 32 random bytes (libsodium clamps it), as `vault:keygen` makes.
    const vaultKeys = `demo:${randomBytes(32).toString('base64')}`
    const { privateJwk } = await generateIdentityKeyPair('demo-main-app')
    saved = { vaultKeys, identityPrivateJwk: privateJwk }
    await writeFile(keysPath, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  }
  // The public JWKS is the private JWK without its secret part `d`; rewritten on every start.
  const { d: _secret, ...publicJwk } = saved.identityPrivateJwk
  const identityJwksPath = join(dir, 'identity-jwks.json')
  await writeFile(identityJwksPath, `${JSON.stringify({ keys: [publicJwk] }, null, 2)}\n`)
  return { ...saved, identityJwksPath, created }
}
