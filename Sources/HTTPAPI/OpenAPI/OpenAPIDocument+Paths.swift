import HTTPTypes
import KindModel

/// The paths object, derived from the route table (`APIOperation`): one entry per route — per
/// kind for the routes under `/api/audio/<kind>` — HEAD beside every GET, and each operation's
/// security from the decision the access check itself makes. The switches below have no
/// `default:`, so a new route does not compile until it is described. The web console's routes
/// (`APIOperation.isConsole`) are left out: they serve the console's HTML, CSS and JavaScript, which
/// a client of the API never calls (the console is itself such a client; docs/console.md).
extension OpenAPIDocument {
    static func paths(_ catalog: KindCatalog) -> JSONObject {
        var paths = JSONObject()
        func add(_ operation: APIOperation, kind: KindDefinition?) {
            let path = documentedPath(operation, kind: kind)
            var item = paths[path]?.objectValue ?? JSONObject()
            item[operation.method.rawValue.lowercased()] = secured(describe(operation, kind: kind, catalog), operation, kind: kind)
            if operation.answersHead, let head = describeHead(operation, kind: kind, catalog) {
                item["head"] = secured(head, operation, kind: kind)
            }
            paths[path] = .object(item)
        }
        for operation in APIOperation.allCases where !operation.isKindRoute && !operation.isConsole { add(operation, kind: nil) }
        for kind in catalog.kinds {
            for operation in APIOperation.allCases where operation.isKindRoute && operation.isOffered(by: kind) { add(operation, kind: kind) }
        }
        return paths
    }

    /// The route's path as OpenAPI writes it: `:kind` spelled out for kind routes (each operation
    /// carries its kind's own schemas), other parameters as `{name}`.
    static func documentedPath(_ operation: APIOperation, kind: KindDefinition?) -> String {
        "/"
            + operation.path.split(separator: "/").map { segment -> String in
                guard segment.hasPrefix(":") else { return String(segment) }
                let name = segment.dropFirst()
                if name == "kind", operation.isKindRoute, let kind { return kind.name }
                return "{\(name)}"
            }.joined(separator: "/")
    }

    /// The operation object of `operation` (on `kind`, which kind routes always have).
    static func describe(_ operation: APIOperation, kind: KindDefinition?, _ catalog: KindCatalog) -> JSONValue {
        switch operation {
        case .health: health
        case .openAPI: openAPIOperation
        case .listKinds: listKinds
        case .describeKind: describeKind(catalog)
        case .create: create(catalog)
        case .list: list(kind!)
        case .get: getRecord(kind!)
        case .update: update(kind!)
        case .upload: upload(kind!)
        case .uploadLimits: uploadLimits(kind!)
        case .delete: delete(kind!)
        case .download: download(kind!, head: false)
        case .createLink: createLink(kind!)
        case .listKeys: listKeys
        case .createKey: createKey
        case .revokeKey: revokeKey
        case .listAudit: listAudit(catalog)
        case .currentKey: currentKey
        case .uploadOptions, .createUpload, .uploadStatus, .appendUpload, .cancelUpload: resumableUpload(operation, kind: kind!)
        // Not documented: `paths` skips them (the console's files, not the API).
        case .consoleRedirect, .consolePage, .consoleAsset: .null
        }
    }

    /// A resumable-upload route's description, from the kind's upload paths (`uploadPaths`).
    static func resumableUpload(_ operation: APIOperation, kind: KindDefinition) -> JSONValue {
        let item = uploadPaths(kind).first { $0.0 == documentedPath(operation, kind: kind) }?.1
        return item?.objectValue?[operation.method.rawValue.lowercased()] ?? .null
    }

    /// The HEAD operation served beside a GET: its statuses and headers, without the body.
    static func describeHead(_ operation: APIOperation, kind: KindDefinition?, _ catalog: KindCatalog) -> JSONValue? {
        switch operation {
        case .list:
            return headOf(list(kind!), id: "head_list_\(kind!.name)", summary: "The headers of a page of \(kind!.name) records, without the body.")
        case .get:
            return headOf(getRecord(kind!), id: "head_\(kind!.name)", summary: "The headers of a \(kind!.name) record (its ETag), without the body.")
        case .download:
            return download(kind!, head: true)
        case .health, .openAPI, .listKinds, .describeKind, .listKeys, .listAudit, .currentKey:
            let get = describe(operation, kind: kind, catalog)
            return headOf(
                get, id: "head_" + (get.objectValue?["operationId"]?.stringValue ?? operation.rawValue),
                summary: "The headers of GET \(documentedPath(operation, kind: kind)), without the body.")
        case .create, .update, .upload, .delete, .createLink, .createKey, .revokeKey,
            .uploadOptions, .uploadLimits, .createUpload, .uploadStatus, .appendUpload, .cancelUpload,
            .consoleRedirect, .consolePage, .consoleAsset:
            return nil
        }
    }
}
