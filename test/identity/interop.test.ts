import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { importJWK, SignJWT } from 'jose'
import { loadConfig } from '../../src/config.ts'
import { createIdentityVerifier } from '../../src/identity/verifier.ts'
import { createIdentityKeys, TEST_AUDIENCE, TEST_ISSUER } from '../fixtures/identity.ts'
import { tempDir, testEnv } from '../helper.ts'
import { createIdentityMinter } from './mint-assertion-example.ts'

const run = promisify(execFile)
const PYTHON = '/usr/bin/python3'
const MINT_PY = 'test/fixtures/mint_assertion.py'
const CLI = 'src/identity/cli.ts'

async function verifierFor(jwks: { keys: unknown[] }) {
  return createIdentityVerifier({ jwks, issuer: TEST_ISSUER, audience: TEST_AUDIENCE })
}

test('an assertion minted by the Python main app (PyJWT, EdDSA) is accepted', async () => {
  const keys = await createIdentityKeys({ kid: 'main-app-python' })
  const { stdout } = await run(PYTHON, [MINT_PY, 'django-user-17'], {
    env: { IDENTITY_SIGNING_JWK: JSON.stringify(keys.privateJwk), IDENTITY_ISSUER: TEST_ISSUER },
  })
  const identity = await (await verifierFor(keys.jwks)).verify(stdout.trim())
  assert.equal(identity.userId, 'django-user-17')
})

test('an assertion minted by the Node example (jose) is accepted', async () => {
  const keys = await createIdentityKeys({ kid: 'main-app-node' })
  const mint = await createIdentityMinter({ privateJwk: keys.privateJwk, issuer: TEST_ISSUER })
  const identity = await (await verifierFor(keys.jwks)).verify(await mint('node-user-5'))
  assert.equal(identity.userId, 'node-user-5')
})

async function signWith(privateJwk: Record<string, unknown>, sub: string) {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ sub, iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now, exp: now + 60 })
    .setProtectedHeader({ alg: 'EdDSA', kid: privateJwk.kid as string })
    .sign(await importJWK(privateJwk, 'EdDSA'))
}

test('keygen prints a private JWK and a JWKS that round-trip', async () => {
  const { stdout } = await run(process.execPath, [CLI, 'keygen', 'main-app-test'])
  const [privateJwk, jwks] = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
  assert.deepEqual(
    {
      kty: privateJwk.kty,
      crv: privateJwk.crv,
      kid: privateJwk.kid,
      alg: privateJwk.alg,
      use: privateJwk.use,
    },
    { kty: 'OKP', crv: 'Ed25519', kid: 'main-app-test', alg: 'EdDSA', use: 'sig' },
  )
  assert.equal(jwks.keys.length, 1)
  assert.equal(jwks.keys[0].d, undefined)
  assert.equal(jwks.keys[0].kid, 'main-app-test')
  const identity = await (await verifierFor(jwks)).verify(await signWith(privateJwk, 'user-1'))
  assert.equal(identity.userId, 'user-1')
})

test('keygen --out writes a 0600 private key, never overwrites, and Python can use it', async (t) => {
  const dir = await tempDir(t)
  const { stdout } = await run(process.execPath, [CLI, 'keygen', '--out', dir])
  assert.match(stdout, /kid: main-app-\d{4}-\d{2}-\d{2}/)
  assert.ok(!stdout.includes('"d"'), 'the private key is not printed when written to a file')
  const privatePath = join(dir, 'identity-private.jwk.json')
  assert.equal((await stat(privatePath)).mode & 0o777, 0o600)
  const privateJwk = await readFile(privatePath, 'utf8')
  const jwks = JSON.parse(await readFile(join(dir, 'identity-jwks.json'), 'utf8'))
  const { stdout: token } = await run(PYTHON, [MINT_PY, 'user-2'], {
    env: { IDENTITY_SIGNING_JWK: privateJwk, IDENTITY_ISSUER: TEST_ISSUER },
  })
  assert.equal((await (await verifierFor(jwks)).verify(token.trim())).userId, 'user-2')
  await assert.rejects(run(process.execPath, [CLI, 'keygen', '--out', dir]), /EEXIST|exists/)
  assert.equal(await readFile(privatePath, 'utf8'), privateJwk)
})

test('keygen refuses a kid outside [A-Za-z0-9._-]', async () => {
  await assert.rejects(run(process.execPath, [CLI, 'keygen', '../evil']), /the kid must be/)
})

test('keygen --caller prints an IDENTITY_CALLERS entry the service accepts beside the JWKS', async () => {
  const { stdout } = await run(process.execPath, [
    CLI,
    'keygen',
    'reports-1',
    '--caller',
    'reports',
    '--operations',
    'me,workspace.read',
  ])
  const [, jwks, entry] = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
  assert.deepEqual(entry, {
    reports: { kids: ['reports-1'], operations: ['me', 'workspace.read'] },
  })
  const config = loadConfig(
    testEnv({ IDENTITY_JWKS: JSON.stringify(jwks), IDENTITY_CALLERS: JSON.stringify(entry) }),
  )
  assert.deepEqual(config.callers, entry)
  await assert.rejects(
    run(process.execPath, [CLI, 'keygen', '--caller', 'x', '--operations', 'files.write']),
  )
})
