/**
 * Small helpers used across layers (handlers, services, stores). Dependency-free; nothing here
 * knows about HTTP, DynamoDB or the protocol.
 */

/** A plain JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
