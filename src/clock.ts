/** The service's clock: milliseconds since the epoch. Tests pass one they move by hand. */
export type Clock = () => number
