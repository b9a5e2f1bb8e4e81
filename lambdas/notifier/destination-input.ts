import { InvalidRequest } from '../core/errors.ts';
import { checkClientId, checkEventTypes, checkExpectedVersion, isObject, rejectUnknownMembers } from './validation.ts';

const REGISTER_MEMBERS = new Set(['clientId', 'eventTypes']);
const UPDATE_MEMBERS = new Set(['eventTypes']);
const OPERATION_MEMBERS = new Set(['op', 'clientId', 'eventTypes', 'expectedVersion']);

/** A validated register. */
export interface ParsedRegister {
  readonly clientId: string;
  readonly eventTypes: string[] | undefined;
}

/** A validated bulk operation. */
export type ParsedOperation =
  | ({ op: 'register' } & ParsedRegister)
  | { op: 'update'; clientId: string; eventTypes: string[] | null; expectedVersion: number | undefined }
  | { op: 'delete'; clientId: string; expectedVersion: number | undefined };

export function parseRegister(input: unknown): ParsedRegister {
  if (!isObject(input)) throw new InvalidRequest('The destination must be a JSON object');
  rejectUnknownMembers(input, REGISTER_MEMBERS, 'the destination');
  const clientId = checkClientId(input.clientId);
  const eventTypes = input.eventTypes === undefined || input.eventTypes === null ? undefined : checkEventTypes(input.eventTypes);
  return { clientId, eventTypes };
}

/** The body of an update, checked for shape; its `eventTypes` goes to parseEventTypesUpdate. */
export function updateBody(input: unknown): Record<string, unknown> {
  if (!isObject(input)) throw new InvalidRequest('The update must be a JSON object');
  rejectUnknownMembers(input, UPDATE_MEMBERS, 'the update');
  return input;
}

/** `eventTypes` of an update is required: a list, or null for every type. */
export function parseEventTypesUpdate(value: unknown): string[] | null {
  if (value === undefined) throw new InvalidRequest('An update needs eventTypes: an array of event-type URIs, or null for every type');
  return value === null ? null : checkEventTypes(value);
}

export function parseOperation(raw: unknown): ParsedOperation {
  if (!isObject(raw)) throw new InvalidRequest('Each operation must be a JSON object');
  rejectUnknownMembers(raw, OPERATION_MEMBERS, 'the operation');
  const clientId = checkClientId(raw.clientId);
  switch (raw.op) {
    case 'register':
      if (raw.expectedVersion !== undefined) throw new InvalidRequest('register takes no expectedVersion');
      return { op: 'register', ...parseRegister({ clientId, ...(raw.eventTypes === undefined ? {} : { eventTypes: raw.eventTypes }) }) };
    case 'update':
      return { op: 'update', clientId, eventTypes: parseEventTypesUpdate(raw.eventTypes), expectedVersion: checkExpectedVersion(raw.expectedVersion) };
    case 'delete':
      if (raw.eventTypes !== undefined) throw new InvalidRequest('delete takes no eventTypes');
      return { op: 'delete', clientId, expectedVersion: checkExpectedVersion(raw.expectedVersion) };
    default:
      throw new InvalidRequest('op must be "register", "update" or "delete"');
  }
}

/** Each operation parsed, or the InvalidRequest it earned (answered on its own item). */
export function parseOperations(operations: readonly unknown[]): (ParsedOperation | InvalidRequest)[] {
  return operations.map((raw) => {
    try {
      return parseOperation(raw);
    } catch (error) {
      if (error instanceof InvalidRequest) return error;
      throw error;
    }
  });
}
