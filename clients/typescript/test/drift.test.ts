/** The generated wire types must be what openapi-typescript makes of the committed document. */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const GENERATED = join(PACKAGE, 'src/generated/openapi.ts')

test('src/generated/openapi.ts matches openapi/openapi.json (else: npm run generate)', async () => {
  const cli = join(
    dirname(createRequire(import.meta.url).resolve('openapi-typescript/package.json')),
    'bin/cli.js',
  )
  const { stdout } = await run(process.execPath, [cli, '../../openapi/openapi.json'], {
    cwd: PACKAGE,
    maxBuffer: 16 * 1024 * 1024,
  })
  const committed = await readFile(GENERATED, 'utf8')
  assert.ok(stdout.includes('export interface paths'), 'the generator printed the types')
  assert.equal(
    committed,
    stdout,
    'the generated client types drifted from openapi/openapi.json: run `npm run -w @cloud-connector/client generate`',
  )
})
