/**
 * The wire types (contract §5), taken from the types generated from `openapi/openapi.json`
 * (`src/generated/openapi.ts`, `npm run generate`; a test fails when they drift). Field names
 * are the wire's snake_case.
 */
import type { components, paths } from './generated/openapi.ts'

type JsonOf<Response> = Response extends { content: { 'application/json': infer Body } }
  ? Body
  : never

export type Problem = components['schemas']['Problem']
/** A file or folder; `path` is relative to the workspace root ("" is the root itself). */
export type Entry = components['schemas']['Entry']
export type ConnectSession = JsonOf<paths['/v1/connect/sessions']['post']['responses'][201]>
export type Connection = JsonOf<paths['/v1/connection']['get']['responses'][200]>
export type Account = JsonOf<paths['/v1/me']['get']['responses'][200]>
export type Listing = JsonOf<paths['/v1/workspace/list']['get']['responses'][200]>
export type ListQuery = NonNullable<paths['/v1/workspace/list']['get']['parameters']['query']>
