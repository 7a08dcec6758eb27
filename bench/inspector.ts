/**
 * A minimal DevTools-protocol client for a process started with `--inspect=127.0.0.1:<port>`:
 * the soak forces a full GC in the connector and reads its memory without any code in the
 * service for it.
 */
export interface Inspector {
  /** Full (compacting) GC, then `process.memoryUsage()` of the target, in bytes. */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>
  close(): void
}

export async function connectInspector(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl: string
  }>
  const url = targets[0]?.webSocketDebuggerUrl
  if (!url) throw new Error(`no inspector target on port ${port}`)
  const socket = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true })
    socket.addEventListener('error', () => reject(new Error(`inspector ${url} refused`)), {
      once: true,
    })
  })
  let nextId = 0
  const pending = new Map<number, (message: { result?: unknown; error?: unknown }) => void>()
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as {
      id?: number
      result?: unknown
      error?: unknown
    }
    if (message.id !== undefined) pending.get(message.id)?.(message)
    if (message.id !== undefined) pending.delete(message.id)
  })
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId
      pending.set(id, (message) =>
        message.error ? reject(new Error(JSON.stringify(message.error))) : resolve(message.result),
      )
      socket.send(JSON.stringify({ id, method, params }))
    })
  return {
    async memoryAfterGc() {
      await call('HeapProfiler.collectGarbage')
      const result = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } }
      return JSON.parse(result.result.value) as NodeJS.MemoryUsage
    },
    close: () => socket.close(),
  }
}
