/** Form and query parameters, refusing a repeated name (RFC 6749 §3.1, §3.2). */
export interface Params {
  values: Record<string, string>
  /** The first name given twice, if any. */
  duplicate: string | null
}

export function parseParams(...sources: string[]): Params {
  const values: Record<string, string> = {}
  let duplicate: string | null = null
  for (const source of sources) {
    for (const [name, value] of new URLSearchParams(source)) {
      if (Object.hasOwn(values, name)) duplicate ??= name
      else values[name] = value
    }
  }
  return { values, duplicate }
}

export function queryOf(url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? '' : url.slice(q + 1)
}

export function pathOf(url: string): string {
  const q = url.indexOf('?')
  return q < 0 ? url : url.slice(0, q)
}
