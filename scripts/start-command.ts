/**
 * The command `npm start` runs, read from package.json: the one place that says which `node`
 * flags the service is deployed with. The Dockerfile's CMD must say the same
 * (test/docker-image.test.ts) and the bench starts the connector with them (bench/processes.ts),
 * so what is measured is what is deployed.
 */
import { readFileSync } from 'node:fs'

export interface StartCommand {
  /** `node` flags before the entry, e.g. `--max-semi-space-size=16`. */
  nodeFlags: string[]
  entry: string
}

/** Parses `exec node [flags…] <entry>`; anything else is a mistake in package.json. */
export function parseStartScript(script: string): StartCommand {
  const words = script.trim().split(/\s+/)
  const [exec, node, ...rest] = words
  const entry = rest.pop()
  if (
    exec !== 'exec' ||
    node !== 'node' ||
    entry === undefined ||
    rest.some((w) => !w.startsWith('--'))
  ) {
    throw new Error(`package.json "start" is not "exec node [--flags…] <entry>": ${script}`)
  }
  return { nodeFlags: rest, entry }
}

const packageJson = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { scripts: { start: string } }

export const START_COMMAND = parseStartScript(packageJson.scripts.start)
