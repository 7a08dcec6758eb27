/**
 * Fastify's own schema compilers (Ajv for requests, fast-json-stringify for responses), made
 * lazy. Fastify compiles every route's validator and serializer before `ready`, which was a
 * third of the connector's cold start (docs/performance.md); a request never needs more than
 * its own route's. Each function compiles on first use, and `warmUp()` compiles the rest in
 * the background once the service listens, one per event-loop turn, so the first requests do
 * not pay for it either. The compiled functions are Fastify's own: validation and
 * serialization behave exactly as with the defaults.
 */
import ValidatorSelector from '@fastify/ajv-compiler'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type CompilersFactory = NonNullable<
  NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']
>
type ValidatorBuilder = NonNullable<CompilersFactory['buildValidator']>
type SerializerBuilder = NonNullable<CompilersFactory['buildSerializer']>
type Validate = ReturnType<ReturnType<ValidatorBuilder>>
type Serialize = ReturnType<ReturnType<SerializerBuilder>>

export interface LazySchemaCompilers {
  /** For `Fastify({ schemaController: { compilersFactory } })`. */
  compilersFactory: CompilersFactory
  /** How many route schemas are not compiled yet. */
  pending(): number
  /**
   * Compiles what is left, yielding to requests between schemas, until `stop()` says the app is
   * closing; resolves with how many it compiled, rejects on a broken schema.
   */
  warmUp(stop?: () => boolean): Promise<number>
}

export function createLazySchemaCompilers(): LazySchemaCompilers {
  const uncompiled = new Set<() => unknown>()

  // A thunk compiled once, by its first caller or by the warm-up, whichever comes first.
  const once = <F>(compile: () => F): (() => F) => {
    let compiled: F | undefined
    const get = () => {
      if (compiled === undefined) {
        compiled = compile()
        uncompiled.delete(get)
      }
      return compiled
    }
    uncompiled.add(get)
    return get
  }

  const buildValidator: ValidatorBuilder = (externalSchemas, options) => {
    const compiler = once(() => ValidatorSelector()(externalSchemas, options))
    return (route) => {
      const validate = once(() => compiler()(route))
      // Fastify reads `errors` from the function it called, after a `false`.
      const lazy = ((data: unknown) => {
        const compiled = validate()
        const valid = compiled(data)
        lazy.errors = compiled.errors
        return valid
      }) as Validate
      return lazy
    }
  }

  const buildSerializer: SerializerBuilder = (externalSchemas, options) => {
    const compiler = once(() => SerializerSelector()(externalSchemas, options))
    return (route) => {
      const serialize = once(() => compiler()(route))
      return ((data: unknown) => serialize()(data)) as Serialize
    }
  }

  return {
    compilersFactory: { buildValidator, buildSerializer },
    pending: () => uncompiled.size,
    async warmUp(stop = () => false) {
      let compiled = 0
      for (const compile of [...uncompiled]) {
        await new Promise((resolve) => setImmediate(resolve))
        if (stop()) break
        // A request may have compiled it first, while this loop yielded.
        if (!uncompiled.has(compile)) continue
        compile()
        compiled++
      }
      return compiled
    },
  }
}
