/**
 * The shipped migrations are what drizzle-kit generates from the schemas today, for both
 * dialects: a schema change without its migration fails here, not at a replica's boot.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cp, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DRIZZLE_KIT = join(ROOT, 'node_modules/.bin/drizzle-kit')

const DIALECTS = [
  { dialect: 'sqlite', schema: './src/vault/sqlite/schema.ts', folder: 'drizzle/sqlite' },
  { dialect: 'postgresql', schema: './src/vault/postgres/schema.ts', folder: 'drizzle/postgres' },
]

for (const { dialect, schema, folder } of DIALECTS) {
  test(`${folder} is up to date with ${schema}`, async (t) => {
    // drizzle-kit wants a path relative to the project; test-output/ is git-ignored.
    const out = `test-output/drift-${randomBytes(4).toString('hex')}`
    t.after(() => rm(join(ROOT, out), { recursive: true, force: true }))
    await cp(join(ROOT, folder), join(ROOT, out), { recursive: true })
    const { stdout } = await promisify(execFile)(
      DRIZZLE_KIT,
      ['generate', '--dialect', dialect, '--schema', schema, '--out', `./${out}`],
      { cwd: ROOT, timeout: 60_000 },
    )
    assert.match(stdout, /No schema changes, nothing to migrate/)
    assert.deepEqual(
      (await readdir(join(ROOT, out))).sort(),
      (await readdir(join(ROOT, folder))).sort(),
    )
  })
}
