/**
 * A `fetch` for the official `dropbox` SDK, which hard-codes https://api.dropboxapi.com,
 * https://api.dropbox.com, https://content.dropboxapi.com and https://dropbox.com: those
 * origins go to the emulator instead. Give it to both `DropboxAuth` and `Dropbox`.
 */
const DROPBOX_HOST = /^(?:[a-z0-9-]+\.)*(?:dropboxapi|dropbox)\.com$/

export function dropboxFetch(emulatorUrl: string): typeof fetch {
  const base = new URL(emulatorUrl)
  return (input, init) => {
    const raw = input instanceof Request ? input.url : String(input)
    const url = new URL(raw)
    if (DROPBOX_HOST.test(url.hostname)) {
      url.protocol = base.protocol
      url.host = base.host
    }
    return input instanceof Request ? fetch(new Request(url, input), init) : fetch(url, init)
  }
}
