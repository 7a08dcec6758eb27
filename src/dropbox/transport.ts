/**
 * The one HTTP path to Dropbox: a keep-alive undici pool, and the SDK's hard-coded
 * `https://api.dropboxapi.com` origin rewritten to `DROPBOX_API_BASE_URL` (the emulator in tests).
 */
import { Agent, fetch as undiciFetch } from 'undici'

const SDK_API_ORIGINS = ['https://api.dropboxapi.com', 'https://api.dropbox.com']

export interface DropboxTransport {
  readonly apiBaseUrl: string
  fetch: typeof undiciFetch
  close(): Promise<void>
}

export function createDropboxTransport(apiBaseUrl: string): DropboxTransport {
  const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000, pipelining: 1 })
  const rewrite = (url: string): string => {
    for (const origin of SDK_API_ORIGINS) {
      if (url.startsWith(`${origin}/`)) return apiBaseUrl + url.slice(origin.length)
    }
    return url
  }
  const fetch = ((input: string, init?: Parameters<typeof undiciFetch>[1]) =>
    undiciFetch(rewrite(String(input)), { ...init, dispatcher: agent })) as typeof undiciFetch
  return { apiBaseUrl, fetch, close: () => agent.close() }
}
