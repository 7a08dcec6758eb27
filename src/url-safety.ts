/**
 * Small URL rules of the configuration (contract §8): which hosts count as loopback for the
 * https rule, and how a URL is shown in an error without the credentials it may carry.
 */
import { isIP } from 'node:net'

/** `localhost`, `127.0.0.0/8` and `[::1]`: traffic that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '')
  if (host === 'localhost' || host.endsWith('.localhost')) return true
  if (host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

/**
 * Masks the user-info part of anything URL-shaped (`scheme://user:password@host`, up to the last `@`),
 * parsable or not: a malformed `DATABASE_URL` is exactly the one whose password would otherwise be echoed.
 */
export function maskCredentials(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/).*@/s, '$1***@')
}
