/**
 * A fresh PostgreSQL database per test, created on the server at `TEST_DATABASE_URL` (default:
 * this machine kind's `postgres://postgres@127.0.0.1:5432/test`) and dropped when the test
 * file ends, so tests and parallel test files never see each other's rows.
 * `TEST_DATABASE=postgres` runs the API suites on PostgreSQL instead of SQLite (`test/helper.ts`).
 */
import { randomBytes } from 'node:crypto'
import { after, type TestContext } from 'node:test'
import postgres from 'postgres'

export const TEST_DATABASE_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export function testsUsePostgres(): boolean {
  return process.env.TEST_DATABASE === 'postgres'
}

async function admin<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  // One short session per call: a client left open would keep the test file's process alive.
  const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    return await run(sql)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

// Dropped once the whole file has run, not in the test's own `after`: that ran before the app's
// close (hooks run in the order they were added), so a pool still finishing a query saw its
// connection destroyed and failed the run with an unhandled rejection.
const created: string[] = []
after(async () => {
  for (const name of created.splice(0)) await dropDatabase(name)
})

/** Creates an empty database for this test and returns its URL; dropped when the file ends. */
export async function freshDatabase(): Promise<string> {
  const name = `cc_test_${randomBytes(6).toString('hex')}`
  await admin((sql) => sql`create database ${sql(name)}`)
  created.push(name)
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${name}`
  return url.toString()
}

export async function dropDatabase(name: string): Promise<void> {
  // FORCE ends the sessions of app pools that are still closing.
  await admin((sql) => sql`drop database if exists ${sql(name)} with (force)`)
}

/** A short-lived client on one test database, for assertions on raw rows. */
export function rawPostgres(t: TestContext, url: string): postgres.Sql {
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.after(() => sql.end({ timeout: 5 }))
  return sql
}
