import Foundation

/// Where objects live: a bucket, a key prefix inside it, and the server that holds it, parsed from
/// `s3://BUCKET/PREFIX?endpoint=http://host:port&region=REGION&path_style=true`.
///
/// Without `endpoint` the server is AWS (`https://s3.REGION.amazonaws.com`); without `region` it is
/// `us-east-1`; `path_style` (default `false`, `true` for any S3-compatible server that lacks
/// per-bucket host names, such as SeaweedFS) puts the bucket in the path instead of the host name.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    /// Empty, or ending in `/`; put in front of every key the client is given.
    public var prefix: String
    /// `http` or `https`.
    public var scheme: String
    /// The endpoint's host, without the bucket.
    public var host: String
    public var port: Int?
    public var region: String
    public var pathStyle: Bool

    public init(
        bucket: String, prefix: String = "", endpoint: String? = nil, region: String = "us-east-1", pathStyle: Bool = false
    ) throws(S3LocationError) {
        try S3Location.checkBucket(bucket)
        self.bucket = bucket
        self.prefix = Self.normalizedPrefix(prefix)
        self.region = region
        self.pathStyle = pathStyle
        if let endpoint {
            guard let components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
                components.path.isEmpty || components.path == "/", components.query == nil
            else { throw .invalidEndpoint(endpoint) }
            self.scheme = scheme
            self.host = host
            self.port = components.port
        } else {
            self.scheme = "https"
            self.host = "s3.\(region).amazonaws.com"
            self.port = nil
        }
    }

    /// Parses `s3://BUCKET/PREFIX?endpoint=…&region=…&path_style=true`.
    public init(parsing text: String) throws(S3LocationError) {
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "s3" else {
            throw .notS3URL(text)
        }
        guard let bucket = components.host, !bucket.isEmpty else { throw .invalidBucket("") }
        var endpoint: String?
        var region = "us-east-1"
        var pathStyle = false
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "endpoint": endpoint = value
            case "region":
                guard !value.isEmpty else { throw .invalidParameter(item.name, value) }
                region = value
            case "path_style":
                switch value.lowercased() {
                case "true", "1", "yes": pathStyle = true
                case "false", "0", "no": pathStyle = false
                default: throw .invalidParameter(item.name, value)
                }
            default: throw .unknownParameter(item.name)
            }
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        try self.init(bucket: bucket, prefix: path, endpoint: endpoint, region: region, pathStyle: pathStyle)
    }

    /// `http://host:port`, as the endpoint was given (the bucket not in it).
    public var endpoint: String { "\(scheme)://\(host)\(portSuffix)" }

    /// The Host header: the bucket in front of the host name unless path-style.
    var requestHost: String { (pathStyle ? host : "\(bucket).\(host)") + portSuffix }

    private var portSuffix: String {
        guard let port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) else { return "" }
        return ":\(port)"
    }

    /// The decoded request path of an object key (full key, prefix included), or of the bucket
    /// itself for `nil`.
    func path(fullKey: String?) -> String {
        let key = fullKey ?? ""
        return pathStyle ? "/\(bucket)/\(key)" : "/\(key)"
    }

    public var description: String {
        "s3://\(bucket)/\(prefix)?endpoint=\(endpoint)&region=\(region)&path_style=\(pathStyle)"
    }

    static func normalizedPrefix(_ prefix: String) -> String {
        var p = Substring(prefix)
        while p.hasPrefix("/") { p = p.dropFirst() }
        if p.isEmpty { return "" }
        return p.hasSuffix("/") ? String(p) : String(p) + "/"
    }

    /// S3's rules for new buckets, loosely: 3–63 characters of lower-case letters, digits, `.`, `-`.
    static func checkBucket(_ bucket: String) throws(S3LocationError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(bucket.count), bucket.allSatisfy({ allowed.contains($0) }),
            bucket.first != "-", bucket.first != ".", bucket.last != "-", bucket.last != "."
        else { throw .invalidBucket(bucket) }
    }
}

public enum S3LocationError: Error, Equatable, Sendable, CustomStringConvertible {
    case notS3URL(String)
    case invalidBucket(String)
    case invalidEndpoint(String)
    case invalidParameter(String, String)
    case unknownParameter(String)

    public var description: String {
        switch self {
        case .notS3URL(let text): "not an s3:// URL: \(text)"
        case .invalidBucket(let bucket): "invalid bucket name '\(bucket)': 3 to 63 characters of a-z, 0-9, '.', '-'"
        case .invalidEndpoint(let endpoint): "invalid endpoint '\(endpoint)': expected http://host:port or https://host"
        case .invalidParameter(let name, let value): "invalid value '\(value)' for \(name)"
        case .unknownParameter(let name): "unknown parameter '\(name)' (known: endpoint, region, path_style)"
        }
    }
}
