/**
 * setpoll's CDK constructs for other CDK apps: `import { SetpollStack } from 'setpoll/cdk'`
 * (examples/cdk-app). SetpollStack is the whole deployment as one construct, configured by
 * SetpollStackProps; the parts are exported for apps that compose their own.
 */
export { SetpollStack, type SetpollStackProps } from './setpoll-stack.ts';
export { readConfiguration, type Configuration } from './context.ts';
export { addNagChecks } from './nag.ts';
export { SetQueueEncryption, SetQueueTable, type SetQueueTableProps } from './constructs/set-queue-table.ts';
export { PollFunction, type PollFunctionProps } from './constructs/poll-function.ts';
export { ManagementFunction, type ManagementFunctionProps } from './constructs/management-function.ts';
export { PollApi, type PollApiProps } from './constructs/poll-api.ts';
export { SigningKey, type SigningAlgorithm, type SigningKeyProps } from './constructs/signing-key.ts';
export { PollAlarms, type AlarmThresholds, type PollAlarmsProps } from './constructs/poll-alarms.ts';
export { PollDashboard, type PollDashboardProps } from './constructs/poll-dashboard.ts';
export { ConfigError } from './constructs/validation.ts';
export { ProducerAccess, type ProducerAccessProps } from './constructs/producer-access.ts';
export { PublicJwks, type PublicJwksProps } from './constructs/public-jwks.ts';
