import Foundation
import PostgresNIO

/// Where the cluster's database is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`.
public struct PostgresURL: Sendable, Equatable {
    public let host: String
    public let port: Int
    public let username: String
    public let password: String?
    public private(set) var database: String

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw Invalid(description: "must look like postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "has no host") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "has no user") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw Invalid(description: "has no database") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = components.password
        self.database = database
    }

    /// Plain TCP: the cluster's database is expected on a private network (or loopback).
    var connectionConfiguration: PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: self.host, port: self.port, username: self.username, password: self.password, database: self.database, tls: .disable
        )
        configuration.options.connectTimeout = .seconds(2)
        return configuration
    }

    /// The same server, another database.
    public func database(_ name: String) -> PostgresURL {
        var url = self
        url.database = name
        return url
    }
}
