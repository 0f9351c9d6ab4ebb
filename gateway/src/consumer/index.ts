export { createAmqpClusterSource, type AmqpClusterSourceDeps, type AmqpClusterSourceOptions } from './amqp-cluster-source.js';
export type { ClusterEventSource, ClusterSink, RoutedFrame } from './cluster-source.js';
export { publishEvent, publishMembershipChange, type PublishableEvent, type PublishableMembershipChange } from './amqp-publisher.js';
export { createLocalEventSource, type LocalEventSource, type LocalTaskEvent } from './local-event-source.js';
export {
  BindingError,
  BrokerSetupError,
  BrokerUnavailableError,
  EventSourceOptionsError,
  EventSourceStateError,
  PublishNotConfirmedError,
  UnroutableOrganizationError,
} from './event-source-error.js';
export { parseBrokerMessage, type BrokerMessage, type ParsedBrokerMessage } from './parse-message.js';
export type { EventSink, EventSource, InboundMembershipChange, InboundTaskEvent } from './event-source.js';
