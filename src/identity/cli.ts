/**
 * `npm run identity:keygen -- [kid] [--out DIR]`: a new Ed25519 key pair for the main app.
 * Without --out the private JWK goes to stdout; with it, to a 0600 file never overwritten.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { defaultKid, generateIdentityKeyPair } from './keygen.ts'

const USAGE = 'usage: node src/identity/cli.ts keygen [kid] [--out DIR]\n'

async function keygen(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: 'string' } },
    allowPositionals: true,
  })
  if (positionals.length > 1) throw new TypeError('keygen takes at most one kid')
  const kid = positionals[0] ?? defaultKid()
  const { privateJwk, jwks } = await generateIdentityKeyPair(kid)
  const jwksText = JSON.stringify(jwks)
  if (values.out === undefined) {
    process.stdout.write(
      `# Private JWK for the main app (a secret: put it in its secret store, e.g. IDENTITY_SIGNING_JWK):\n${JSON.stringify(privateJwk)}\n` +
        `# Public JWKS for cloud-connector (IDENTITY_JWKS; append the key when rotating):\n${jwksText}\n`,
    )
    return
  }
  const privatePath = join(values.out, 'identity-private.jwk.json')
  const jwksPath = join(values.out, 'identity-jwks.json')
  // 'wx': a second run must not silently replace a key the main app may already use.
  await writeFile(privatePath, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' })
  await writeFile(jwksPath, `${jwksText}\n`, { mode: 0o644, flag: 'wx' })
  process.stdout.write(
    `kid: ${kid}\nprivate JWK (main app, keep secret): ${privatePath}\npublic JWKS (IDENTITY_JWKS): ${jwksPath}\n`,
  )
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command !== 'keygen') {
    process.stderr.write(USAGE)
    process.exitCode = 2
    return
  }
  try {
    await keygen(rest)
  } catch (error) {
    process.stderr.write(`identity keygen: ${(error as Error).message}\n${USAGE}`)
    process.exitCode = 1
  }
}

await main(process.argv.slice(2))
