/**
 * `npm run identity:keygen -- [kid] [--out DIR] [--caller NAME [--operations a,b]]`: a new
 * Ed25519 key pair for a calling service. Without --out the private JWK goes to stdout; with
 * it, to a 0600 file never overwritten. With --caller, also the `IDENTITY_CALLERS` entry naming
 * the key (contract §2); operations default to `*`.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { isOperation, OPERATIONS } from './callers.ts'
import { defaultKid, generateIdentityKeyPair } from './keygen.ts'

const USAGE =
  'usage: node src/identity/cli.ts keygen [kid] [--out DIR] [--caller NAME [--operations a,b]]\n'

function callerEntry(name: string, kid: string, operations: string | undefined): string {
  const list = (operations ?? '*').split(',').map((op) => op.trim())
  const unknown = list.filter((op) => op !== '*' && !isOperation(op))
  if (unknown.length > 0) {
    throw new TypeError(`unknown operation(s) ${unknown.join(', ')} (${OPERATIONS.join(', ')}, *)`)
  }
  return JSON.stringify({ [name]: { kids: [kid], operations: list } })
}

async function keygen(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      caller: { type: 'string' },
      operations: { type: 'string' },
    },
    allowPositionals: true,
  })
  if (positionals.length > 1) throw new TypeError('keygen takes at most one kid')
  const kid = positionals[0] ?? defaultKid()
  if (values.operations !== undefined && values.caller === undefined) {
    throw new TypeError('--operations needs --caller')
  }
  const entry =
    values.caller === undefined ? undefined : callerEntry(values.caller, kid, values.operations)
  const { privateJwk, jwks } = await generateIdentityKeyPair(kid)
  const jwksText = JSON.stringify(jwks)
  const callerText =
    entry === undefined
      ? ''
      : `# IDENTITY_CALLERS entry for cloud-connector (merge it into the object):\n${entry}\n`
  if (values.out === undefined) {
    process.stdout.write(
      `# Private JWK for the main app (a secret: put it in its secret store, e.g. IDENTITY_SIGNING_JWK):\n${JSON.stringify(privateJwk)}\n` +
        `# Public JWKS for cloud-connector (IDENTITY_JWKS; append the key when rotating):\n${jwksText}\n` +
        callerText,
    )
    return
  }
  const privatePath = join(values.out, 'identity-private.jwk.json')
  const jwksPath = join(values.out, 'identity-jwks.json')
  // 'wx': a second run must not silently replace a key the main app may already use.
  await writeFile(privatePath, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' })
  await writeFile(jwksPath, `${jwksText}\n`, { mode: 0o644, flag: 'wx' })
  process.stdout.write(
    `kid: ${kid}\nprivate JWK (main app, keep secret): ${privatePath}\npublic JWKS (IDENTITY_JWKS): ${jwksPath}\n${callerText}`,
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
