import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError, loadConfig, parseVaultKeys } from '../src/config.ts'
import vectors from './fixtures/workspace-vectors.json' with { type: 'json' }
import { EXAMPLE_JWKS, tempDir, testEnv } from './helper.ts'

function configErrors(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return error.problems
  }
  assert.fail('expected a ConfigError')
}

test('defaults follow contract §8', () => {
  const config = loadConfig(testEnv({ LOG_LEVEL: undefined }))
  assert.equal(config.port, 8080)
  assert.equal(config.host, '0.0.0.0')
  assert.equal(config.publicBaseUrl, 'http://localhost:8080')
  assert.equal(config.databasePath, './data/connector.db')
  assert.equal(config.databaseUrl, undefined)
  assert.equal(config.identity.audience, 'cloud-connector')
  assert.equal(config.cloudProvider, 'dropbox')
  assert.equal(config.dropbox.redirectUri, 'http://localhost:8080/connect/callback')
  assert.deepEqual(config.dropbox.scopes, [
    'account_info.read',
    'files.metadata.read',
    'files.content.read',
  ])
  assert.equal(config.dropbox.apiBaseUrl, 'https://api.dropboxapi.com')
  assert.equal(config.dropbox.contentBaseUrl, 'https://content.dropboxapi.com')
  assert.equal(config.dropbox.authorizeUrl, 'https://www.dropbox.com/oauth2/authorize')
  assert.equal(config.dropbox.forceReapprove, true)
  assert.equal(config.workspaceRoot, '')
  assert.equal(config.upstreamTimeoutMs, 10_000)
  assert.equal(config.logLevel, 'info')
})

test('the redirect URI follows PUBLIC_BASE_URL unless set', () => {
  const config = loadConfig(testEnv({ PUBLIC_BASE_URL: 'https://connector.example.com/' }))
  assert.equal(config.publicBaseUrl, 'https://connector.example.com')
  assert.equal(config.dropbox.redirectUri, 'https://connector.example.com/connect/callback')
})

test('an empty environment lists every required variable in one error', () => {
  assert.throws(
    () => loadConfig({}),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(
        error.message,
        [
          'Invalid configuration:',
          '  - VAULT_KEYS is required',
          '  - IDENTITY_JWKS is required',
          '  - IDENTITY_ISSUER is required',
          '  - DROPBOX_APP_KEY is required',
          '  - DROPBOX_APP_SECRET is required',
          '  - CONNECT_RETURN_URL is required',
        ].join('\n'),
      )
      return true
    },
  )
})

test('invalid values are all reported together', () => {
  const problems = configErrors(
    testEnv({
      PORT: 'eighty',
      PUBLIC_BASE_URL: 'ftp://x',
      CLOUD_PROVIDER: 'gdrive',
      WORKSPACE_ROOT: '/a/../b',
      LOG_LEVEL: 'loud',
      UPSTREAM_TIMEOUT_MS: '-5',
      DATABASE_URL: 'mysql://x',
      DROPBOX_SCOPES: 'files.metadata.read <script>',
    }),
  )
  assert.deepEqual(problems, [
    'PUBLIC_BASE_URL must use http: or https: (got "ftp:")',
    'CLOUD_PROVIDER must be "dropbox" (got "gdrive")',
    'DROPBOX_SCOPES must be space-separated scope names like "files.metadata.read"',
    'WORKSPACE_ROOT is not a valid workspace folder: path contains a ".." segment',
    'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    'DATABASE_URL must use postgres: or postgresql: (got "mysql:")',
    'PORT must be an integer from 0 to 65535 (got "eighty")',
    'UPSTREAM_TIMEOUT_MS must be an integer from 100 to 600000 (got "-5")',
  ])
})

test('VAULT_KEYS: first key encrypts, malformed keys are refused without echoing them', () => {
  const a = Buffer.alloc(32, 1).toString('base64')
  const b = Buffer.alloc(32, 2).toString('base64')
  const parsed = parseVaultKeys(`new:${a}, old:${b}`)
  assert.deepEqual(
    parsed.keys.map((key) => key.kid),
    ['new', 'old'],
  )
  assert.deepEqual(parsed.problems, [])

  const short = Buffer.alloc(16, 3).toString('base64')
  const bad = parseVaultKeys(`x:${short},nocolon,dup:${a},dup:${b}`)
  assert.deepEqual(bad.problems, [
    'VAULT_KEYS key "x" must be base64 of exactly 32 bytes',
    'VAULT_KEYS entry 2 must look like "kid:base64key" with a kid of [A-Za-z0-9._-]',
    'VAULT_KEYS has the key id "dup" twice',
  ])
  assert.ok(!bad.problems.join('').includes(short))
  assert.deepEqual(configErrors(testEnv({ VAULT_KEYS: ' , ' })), ['VAULT_KEYS has no key'])
})

test('IDENTITY_JWKS: inline JSON or a file; public Ed25519/P-256 keys with a kid only', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'jwks.json')
  await writeFile(file, JSON.stringify(EXAMPLE_JWKS))
  assert.equal(loadConfig(testEnv({ IDENTITY_JWKS: file })).identity.jwks.keys[0]?.kid, 'example')

  const key = EXAMPLE_JWKS.keys[0]
  const cases: Array<[string, string]> = [
    [
      join(dir, 'missing.json'),
      `IDENTITY_JWKS is neither inline JSON nor a readable file ("${join(dir, 'missing.json')}")`,
    ],
    ['{not json', 'IDENTITY_JWKS is not valid JSON'],
    ['{"keys":[]}', 'IDENTITY_JWKS must be a JWKS object with a non-empty "keys" array'],
    [
      JSON.stringify({ keys: [{ ...key, d: 'secret' }] }),
      'IDENTITY_JWKS key 1 is a private key: publish only public keys',
    ],
    [JSON.stringify({ keys: [{ ...key, kid: undefined }] }), 'IDENTITY_JWKS key 1 has no "kid"'],
    [
      JSON.stringify({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', kid: 'r' }] }),
      'IDENTITY_JWKS key "r" must be an Ed25519 (OKP) or P-256 (EC) public key',
    ],
  ]
  for (const [value, problem] of cases) {
    assert.deepEqual(configErrors(testEnv({ IDENTITY_JWKS: value })), [problem])
  }
})

test('WORKSPACE_ROOT is normalised at boot (shared vectors)', () => {
  for (const vector of vectors.workspace_root) {
    const env = testEnv({ WORKSPACE_ROOT: vector.input })
    if ('error' in vector) {
      assert.equal(vector.error, 'invalid_config')
      assert.match(configErrors(env)[0] ?? '', /^WORKSPACE_ROOT is not a valid workspace folder/)
    } else {
      assert.equal(
        loadConfig(env).workspaceRoot,
        vector.expect,
        `WORKSPACE_ROOT=${JSON.stringify(vector.input)}`,
      )
    }
  }
  assert.match(configErrors(testEnv({ WORKSPACE_ROOT: 'a\u0007b' }))[0] ?? '', /control character/)
})

test('DROPBOX_FORCE_REAPPROVE takes true or false only', () => {
  assert.equal(
    loadConfig(testEnv({ DROPBOX_FORCE_REAPPROVE: 'false' })).dropbox.forceReapprove,
    false,
  )
  assert.equal(
    loadConfig(testEnv({ DROPBOX_FORCE_REAPPROVE: 'true' })).dropbox.forceReapprove,
    true,
  )
  assert.deepEqual(configErrors(testEnv({ DROPBOX_FORCE_REAPPROVE: 'no' })), [
    'DROPBOX_FORCE_REAPPROVE must be true or false (got "no")',
  ])
})

test('WORKSPACE_ROOT that is only whitespace is a startup error, not the Dropbox root', () => {
  for (const blank of [' ', '\t', '  \n ']) {
    assert.deepEqual(configErrors(testEnv({ WORKSPACE_ROOT: blank })), [
      'WORKSPACE_ROOT is only whitespace: leave it unset (or "/") for the Dropbox root',
    ])
  }
  assert.equal(loadConfig(testEnv({ WORKSPACE_ROOT: '' })).workspaceRoot, '')
  assert.equal(loadConfig(testEnv({ WORKSPACE_ROOT: '/' })).workspaceRoot, '')
})
