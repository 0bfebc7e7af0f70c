// What a plugin names (requests, replies, config nodes, the relay's types) comes with
// `import RelayGateway`: a user's package imports this one module.
@_exported import HTTPTypes
@_exported import Logging
@_exported import NIOCore
@_exported import RelayConfig
@_exported import RelayCore
@_exported import RelayHTTP
