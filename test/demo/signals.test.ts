/**
 * `npm run demo` stops when a supervisor signals npm's own process, not only on a terminal's
 * Ctrl+C (which reaches the whole process group). npm forwards SIGTERM/SIGINT to the script's
 * shell; the scripts `exec` node so the signal lands on the process that handles it.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) })
    return true
  } catch {
    return false
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} to npm's process stops the demo and every part of it`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-signal-'))
    const npm = spawn('npm', ['run', '-s', 'demo'], {
      cwd: ROOT,
      detached: true, // its own process group, so a failing test can still kill everything
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DEMO_DIR: dir,
        DEMO_PORT: '0',
        DEMO_CONNECTOR_PORT: '0',
        DEMO_CONNECTOR_INTERNAL_PORT: '0',
        DEMO_EMULATOR_PORT: '0',
        DROPBOX_APP_KEY: '',
        DROPBOX_APP_SECRET: '',
        LOG_LEVEL: 'warn',
      },
    })
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()))
    t.after(async () => {
      try {
        process.kill(-(npm.pid as number), 'SIGKILL')
      } catch {}
      await rm(dir, { recursive: true, force: true })
    })
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 60_000)
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (/^Open http:\S+ in your browser/m.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      }
      npm.stdout?.on('data', onData)
      npm.stderr?.on('data', onData)
    })
    const urls = [
      /^Open (http:\S+) in your browser/m,
      /^ {2}connector +(http:\S+)/m,
      /^ {2}connector .*internal: (http:\/\/[^\s/]+)/m,
      /^ {2}Dropbox emulator +(http:\S+)/m,
    ].map((pattern) => pattern.exec(output)?.[1] as string)
    for (const url of urls) assert.ok(await answers(url), `${url} answers before the signal`)

    process.kill(npm.pid as number, signal) // npm's own process only, as a supervisor does
    const outcome = await Promise.race([
      exited.then(() => 'exited'),
      new Promise((resolve) => setTimeout(resolve, 20_000, 'still running')),
    ])
    assert.equal(outcome, 'exited', output)
    for (const url of urls) assert.equal(await answers(url), false, `${url} still answers`)
  })
}
