/**
 * Request-body validation worded like Dropbox's stone validators ("missing required field
 * 'path'", "unknown field 'root'", "limit: 0 is not within range [1, 2000]", "expected list,
 * got dict"). A failure is a 400 plain-text answer.
 */
export type FieldSpec =
  | {
      type: 'string'
      required?: boolean
      minLength?: number
      pattern?: RegExp
      patternText?: string
    }
  | { type: 'boolean' }
  | { type: 'uint32'; min: number; max: number }
  | { type: 'object' }

export class ArgError extends Error {}

export function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'list'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float'
  if (typeof value === 'object') return 'dict'
  return typeof value
}

/** Returns the object with its optional `null`s dropped (stone treats null as absent). */
export function validateStruct(
  value: unknown,
  fields: Record<string, FieldSpec>,
): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ArgError(`expected object, got ${typeName(value)}`)
  }
  const input = value as Record<string, unknown>
  const output: Record<string, unknown> = {}
  for (const name of Object.keys(input)) {
    if (!Object.hasOwn(fields, name)) throw new ArgError(`unknown field '${name}'`)
  }
  for (const [name, spec] of Object.entries(fields)) {
    const field = input[name]
    if (field === undefined || (field === null && !(spec.type === 'string' && spec.required))) {
      if (spec.type === 'string' && spec.required)
        throw new ArgError(`missing required field '${name}'`)
      continue
    }
    output[name] = checkField(name, field, spec)
  }
  return output
}

function checkField(name: string, value: unknown, spec: FieldSpec): unknown {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string')
        throw new ArgError(`${name}: expected string, got ${typeName(value)}`)
      if (spec.minLength !== undefined && value.length < spec.minLength) {
        throw new ArgError(
          `${name}: '${value}' must be at least ${spec.minLength} characters, got ${value.length}`,
        )
      }
      if (spec.pattern !== undefined && !spec.pattern.test(value)) {
        throw new ArgError(
          `${name}: '${value}' did not match pattern '${spec.patternText ?? spec.pattern.source}'`,
        )
      }
      return value
    }
    case 'boolean':
      if (typeof value !== 'boolean')
        throw new ArgError(`${name}: expected boolean, got ${typeName(value)}`)
      return value
    case 'uint32':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new ArgError(`${name}: expected integer, got ${typeName(value)}`)
      }
      if (value < spec.min || value > spec.max) {
        throw new ArgError(`${name}: ${value} is not within range [${spec.min}, ${spec.max}]`)
      }
      return value
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new ArgError(`${name}: expected object, got ${typeName(value)}`)
      }
      return value
  }
}
