/** Faults queued per route, each for its next N calls. */
import type { Fault } from './types.ts'

interface Queued {
  fault: Fault
  remaining: number
}

export class FaultQueue {
  readonly #byRoute = new Map<string, Queued[]>()

  inject(route: string, fault: Fault, times = 1): void {
    if (typeof route !== 'string' || !route.startsWith('/')) {
      throw new TypeError(
        'injectFault: route must be a path such as "/2/users/get_current_account"',
      )
    }
    if (!Number.isInteger(times) || times < 1)
      throw new TypeError('injectFault: times must be an integer ≥ 1')
    checkFault(route, fault)
    const queue = this.#byRoute.get(route) ?? []
    queue.push({ fault, remaining: times })
    this.#byRoute.set(route, queue)
  }

  /** The fault for this call of `route`, if one is queued. */
  take(route: string): Fault | undefined {
    if (this.#byRoute.size === 0) return undefined
    const queue = this.#byRoute.get(route)
    const head = queue?.[0]
    if (queue === undefined || head === undefined) return undefined
    head.remaining--
    if (head.remaining === 0) queue.shift()
    if (queue.length === 0) this.#byRoute.delete(route)
    return head.fault
  }

  clear(): void {
    this.#byRoute.clear()
  }
}

function checkFault(route: string, fault: Fault): void {
  switch (fault?.kind) {
    case 'rate_limit':
      if (!Number.isInteger(fault.retryAfter) || fault.retryAfter < 0) {
        throw new TypeError('injectFault: rate_limit needs an integer retryAfter ≥ 0')
      }
      if (fault.body !== 'json' && fault.body !== 'text') {
        throw new TypeError('injectFault: rate_limit body must be "json" or "text"')
      }
      if (
        fault.reason !== undefined &&
        fault.reason !== 'too_many_requests' &&
        fault.reason !== 'too_many_write_operations'
      ) {
        throw new TypeError(
          'injectFault: rate_limit reason must be too_many_requests or too_many_write_operations',
        )
      }
      return
    case 'status':
      if (![500, 502, 503].includes(fault.status))
        throw new TypeError('injectFault: status must be 500, 502 or 503')
      return
    case 'delay':
      if (!Number.isFinite(fault.ms) || fault.ms < 0)
        throw new TypeError('injectFault: delay needs ms ≥ 0')
      return
    case 'reset_mid_body':
      if (!Number.isInteger(fault.afterBytes) || fault.afterBytes < 0)
        throw new TypeError('injectFault: reset_mid_body needs an integer afterBytes ≥ 0')
      return
    case 'expired_access_token':
      if (!route.startsWith('/2/'))
        throw new TypeError('injectFault: expired_access_token applies to /2/ routes only')
      return
    case 'hang':
    case 'malformed_json':
    case 'reset':
      return
    default:
      throw new TypeError(`injectFault: unknown fault ${JSON.stringify(fault)}`)
  }
}
