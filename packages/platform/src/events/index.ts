export { EVENT_TYPE_HEADER, deadLetterTopic, eventTopics, topics } from './topics.js';
export type { EventKind, Topic } from './topics.js';
export {
  buildEnvelope,
  decodeEnvelope,
  decodeEvent,
  encodeEnvelope,
  encodeEvent,
  eventFullName,
  eventTypeNameOf,
} from './event-codec.js';
export type {
  EnvelopeEvent,
  EnvelopeMetadata,
  EventInput,
  EventOutput,
  EventTypeName,
} from './event-codec.js';
