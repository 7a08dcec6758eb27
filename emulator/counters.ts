/** What went over the wire, for tests to assert. The call log is a ring: memory stays flat under load. */
import type { CallRecord, EmulatorCounters, TokenRequestRecord } from './types.ts'

export const CALL_LOG_SIZE = 10_000

export class Counters {
  tokenRequests = { authorization_code: 0, refresh_token: 0 }
  tokenRequestLog: TokenRequestRecord[] = []
  revocations = 0
  authorizeRequests: Array<Record<string, string>> = []
  #calls: Array<CallRecord | undefined> = new Array(CALL_LOG_SIZE)
  #next = 0
  #count = 0

  recordCall(call: CallRecord): void {
    this.#calls[this.#next] = call
    this.#next = (this.#next + 1) % CALL_LOG_SIZE
    if (this.#count < CALL_LOG_SIZE) this.#count++
  }

  recordTokenRequest(record: TokenRequestRecord): void {
    if (record.grantType === 'authorization_code' || record.grantType === 'refresh_token') {
      this.tokenRequests[record.grantType]++
    }
    this.tokenRequestLog.push(record)
    if (this.tokenRequestLog.length > CALL_LOG_SIZE) this.tokenRequestLog.shift()
  }

  recordAuthorize(params: Record<string, string>): void {
    this.authorizeRequests.push(params)
    if (this.authorizeRequests.length > CALL_LOG_SIZE) this.authorizeRequests.shift()
  }

  snapshot(): EmulatorCounters {
    const calls: CallRecord[] = []
    const start = (this.#next - this.#count + CALL_LOG_SIZE) % CALL_LOG_SIZE
    for (let i = 0; i < this.#count; i++) {
      const call = this.#calls[(start + i) % CALL_LOG_SIZE]
      if (call !== undefined) calls.push({ ...call })
    }
    return structuredClone({
      tokenRequests: this.tokenRequests,
      tokenRequestLog: this.tokenRequestLog,
      revocations: this.revocations,
      calls,
      authorizeRequests: this.authorizeRequests,
    })
  }

  reset(): void {
    this.tokenRequests = { authorization_code: 0, refresh_token: 0 }
    this.tokenRequestLog = []
    this.revocations = 0
    this.authorizeRequests = []
    this.#calls = new Array(CALL_LOG_SIZE)
    this.#next = 0
    this.#count = 0
  }
}
