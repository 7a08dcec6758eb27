/** The emulator's notion of now: real time plus an offset tests move forward. */
export class Clock {
  #offsetMs = 0

  now(): number {
    return Date.now() + this.#offsetMs
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) {
      throw new RangeError('advanceClock: seconds must be a finite number ≥ 0')
    }
    this.#offsetMs += seconds * 1000
  }
}

/** `%Y-%m-%dT%H:%M:%SZ`, Dropbox's timestamp format (common.stone `DropboxTimestamp`). */
export function dropboxTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`
}
