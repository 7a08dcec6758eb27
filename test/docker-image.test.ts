/**
 * No Docker engine runs here, so this test performs what the image does at runtime:
 * the Dockerfile's production install into a fresh directory, its CMD with its ENV,
 * its HEALTHCHECK command, then SIGTERM and a clean exit.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cp, readFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { BUNDLE_ENTRY } from '../scripts/build.ts'
import { parseStartScript, START_COMMAND } from '../scripts/start-command.ts'
import { tempDir, testEnv } from './helper.ts'
import { freePort, PROJECT_ROOT, startProcess, waitForHttp } from './process.ts'

const run = promisify(execFile)

interface Dockerfile {
  copies: string[]
  install: string
  env: Record<string, string>
  healthcheck: string[]
  cmd: string[]
  user: string
  /** The `build` stage: what it copies in and its last RUN (the bundle). */
  build: { copies: string[]; run: string[] }
  /** Runtime `COPY --from=build <from> <to>` pairs, `from` relative to the stage's /app. */
  fromBuild: Array<[string, string]>
}

/** Reads the runtime facts from the Dockerfile itself, so this test cannot drift from it. */
function parseDockerfile(text: string): Dockerfile {
  const joined = text.replace(/\\\n\s*/g, ' ')
  const lines = joined.split('\n').map((line) => line.trim())
  const runtimeStart = lines.findIndex((line) => / AS runtime$/.test(line))
  const runtime = lines.slice(runtimeStart)
  const buildStage = lines.slice(
    lines.findIndex((line) => / AS build$/.test(line)),
    runtimeStart,
  )
  const buildRun = buildStage.filter((line) => line.startsWith('RUN ')).at(-1) ?? ''
  const install = lines.find((line) => line.startsWith('RUN npm ci')) ?? ''
  const env: Record<string, string> = {}
  for (const line of runtime.filter((l) => l.startsWith('ENV '))) {
    for (const match of line.slice(4).matchAll(/(\w+)=(\S+)/g))
      env[match[1] as string] = match[2] as string
  }
  const healthLine = runtime.find((line) => line.startsWith('HEALTHCHECK')) ?? ''
  const cmdLine = runtime.find((line) => line.startsWith('CMD ')) ?? ''
  return {
    copies: runtime
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from'))
      .map((line) => line.split(/\s+/)[1] as string),
    install: install.replace(/^RUN /, '').split(' && ')[0] as string,
    env,
    healthcheck: JSON.parse(healthLine.slice(healthLine.indexOf('CMD ') + 4)) as string[],
    cmd: JSON.parse(cmdLine.slice(4)) as string[],
    user: runtime.find((line) => line.startsWith('USER '))?.slice(5) ?? 'root',
    build: {
      copies: buildStage
        .filter((line) => line.startsWith('COPY '))
        .flatMap((line) => line.split(/\s+/).slice(1, -1)),
      run: buildRun.slice(4).split(' '),
    },
    fromBuild: runtime
      .filter((line) => line.startsWith('COPY --from=build '))
      .map((line) => {
        const [, , from, to] = line.split(/\s+/)
        return [(from as string).replace(/^\/app\//, ''), to as string]
      }),
  }
}

test('the image runs as a non-root user on Node 24 with a /data volume', async () => {
  const text = await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')
  assert.match(text, /^FROM node:24-[a-z]+-slim AS dependencies$/m)
  assert.match(text, /^FROM node:24-[a-z]+-slim AS runtime$/m)
  assert.match(text, /^VOLUME \["\/data"\]$/m)
  const image = parseDockerfile(text)
  assert.equal(image.user, 'node')
  assert.match(image.install, /--omit=dev/)
  assert.equal(image.env.DATABASE_PATH, '/data/connector.db')
  assert.ok(!text.includes('curl'), 'the health check uses node, not curl')
})

test('the image starts the bundle with the node flags npm start gives it', async () => {
  const image = parseDockerfile(await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'))
  assert.equal(START_COMMAND.entry, BUNDLE_ENTRY)
  assert.deepEqual(image.cmd, ['node', ...START_COMMAND.nodeFlags, START_COMMAND.entry])
  // The young generation is sized on purpose, not from the memory V8 is told about (decision 13).
  assert.ok(START_COMMAND.nodeFlags.some((flag) => flag.startsWith('--max-semi-space-size=')))
  assert.throws(() => parseStartScript('node dist/server/server.js'), /exec node/)
  assert.throws(() => parseStartScript('exec node dist/server/server.js --inspect'), /exec node/)
})

test('what the image runs: production install, CMD, HEALTHCHECK, SIGTERM → exit 0', async (t) => {
  const image = parseDockerfile(await readFile(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'))
  const app = await tempDir(t, 'cc-image-')
  for (const file of ['package.json', 'package-lock.json', ...image.copies]) {
    await cp(join(PROJECT_ROOT, file), join(app, file), { recursive: true })
  }
  const [npm, ...npmArgs] = image.install.split(' ')
  await run(npm as string, npmArgs, { cwd: app, timeout: 300_000 })
  // The build stage: its sources, this checkout's full install standing for its `npm ci`.
  const stage = await tempDir(t, 'cc-image-build-')
  for (const file of image.build.copies) {
    await cp(join(PROJECT_ROOT, file), join(stage, file), { recursive: true })
  }
  await symlink(join(PROJECT_ROOT, 'node_modules'), join(stage, 'node_modules'))
  const [buildCommand, ...buildArgs] = image.build.run
  assert.equal(buildCommand, 'node')
  await run(process.execPath, buildArgs, { cwd: stage, timeout: 120_000 })
  assert.ok(image.fromBuild.length > 0, 'the runtime takes the bundle from the build stage')
  for (const [from, to] of image.fromBuild) {
    await cp(join(stage, from), join(app, to), { recursive: true })
  }
  const installed = JSON.parse(
    (await run('npm', ['ls', '--omit=dev', '--json', '--depth=0'], { cwd: app })).stdout,
  ) as { dependencies: Record<string, unknown> }
  assert.ok(!('node' in installed.dependencies), 'dev dependencies are not installed')

  const data = await tempDir(t, 'cc-image-data-')
  const port = await freePort()
  const env = {
    PATH: process.env.PATH,
    ...image.env,
    ...testEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_PATH: image.env.DATABASE_PATH?.replace('/data', data),
  }
  const [command, ...args] = image.cmd
  assert.equal(command, 'node')
  const server = startProcess(args, env, app)
  t.after(() => server.child.kill('SIGKILL'))
  await waitForHttp(`http://127.0.0.1:${port}/healthz`)

  const [healthCommand, ...healthArgs] = image.healthcheck
  assert.equal(healthCommand, 'node')
  await run(process.execPath, healthArgs, { env: { ...env } })

  server.child.kill('SIGTERM')
  assert.deepEqual(await server.exited, { code: 0, signal: null })
  await assert.rejects(
    run(process.execPath, healthArgs, { env: { ...env } }),
    'the health check fails once stopped',
  )
})
