export * from './remote-config'
export * from './flags-response'
export * from './sdk-request'
export * from './answer-sdk-request'
