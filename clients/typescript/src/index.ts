/**
 * TypeScript client for cloud-connector (contract §12).
 *
 *   const signer = await createIdentitySigner({ privateJwk, issuer: 'main-app' })
 *   const connector = new CloudConnector({ baseUrl: 'http://cloud-connector:8081', signer })
 *   const client = connector.forUser(user.id)
 *   for await (const entry of client.entries('Reports')) { ... }  // NotConnected: connect first
 */
export {
  type ByteRange,
  CloudConnector,
  type CloudConnectorOptions,
  DEFAULT_TIMEOUT_MS,
  type Download,
  type ListOptions,
  UserClient,
} from './client.ts'
export * from './errors.ts'
export {
  createIdentitySigner,
  DEFAULT_AUDIENCE,
  DEFAULT_LIFETIME_SECONDS,
  type IdentitySigner,
  type IdentitySignerOptions,
} from './signer.ts'
export type * from './types.ts'
