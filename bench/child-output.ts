import { spawn } from 'node:child_process'

/**
 * Runs `node <flags> <script> <role>`, the bench scripts' way of measuring one setting in a
 * fresh process, and resolves with what it wrote to stdout once it exits with 0.
 */
export function childOutput(script: string, flags: string[], role: string): Promise<string> {
  const child = spawn(process.execPath, [...flags, script, role], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code === 0) resolve(output)
      else reject(new Error(`${role} exited with ${code}`))
    })
  })
}
