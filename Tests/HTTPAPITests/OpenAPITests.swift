import Foundation
import Hummingbird
import HummingbirdTesting
import KindModel
import TestSupport
import Testing

@testable import HTTPAPI

/// The OpenAPI document and the per-kind JSON Schemas: valid by a standard validator, carrying
/// every constraint of the kinds, and served as they are generated.
@Suite struct OpenAPITests {
    /// A kind only in YAML (as a user would add it), using every field type.
    static let clipYAML = """
        name: clip
        aliases: [snippet]
        description: A short clip.
        additional_fields: ignore
        fields:
          title: {type: string, required: true, min_length: 1, max_length: 40, pattern: "^[A-Za-z0-9 ]+$"}
          notes: {type: text}
          station: {type: enum, values: [north, south], required: true}
          plays: {type: integer, min: 0, default: 0}
          offset: {type: integer}
          count: {type: integer, min: 1, max: 10}
          gain: {type: number, min: -12.5, max: 12.5}
          loud: {type: boolean, default: false}
          aired_on: {type: date}
          air_at: {type: datetime, not_in_past: true}
          tags: {type: list, items: {type: string, min_length: 1, max_length: 10}, min_items: 1, max_items: 3, default: [x]}
          scores: {type: list, items: {type: integer, min: 0, max: 100}, max_items: 5}
        """

    static func catalog(extra: Bool = true) throws -> KindCatalog {
        let dir = TestDatabase.repositoryRoot.appendingPathComponent("kinds").path
        var sources: [(file: String, text: String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".yaml") {
            sources.append(("kinds/\(name)", try String(contentsOfFile: dir + "/" + name, encoding: .utf8)))
        }
        if extra { sources.append(("kinds/clip.yaml", clipYAML)) }
        return try KindLoader.parse(sources)
    }

    // MARK: validity

    @Test func documentValidatesWithOpenAPISpecValidator() throws {
        for (label, catalog) in [("shipped", try Self.catalog(extra: false)), ("with clip", try Self.catalog())] {
            let text = OpenAPIDocument.json(catalog, serverURL: "http://127.0.0.1:8080")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).json")
            try text.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let output = try run("/usr/bin/env", ["python3", "-m", "openapi_spec_validator", file.path])
            #expect(output.contains("OK"), "\(label): \(output)")
        }
    }

    @Test func kindSchemasAreValidJSONSchemaAndAcceptRealBodies() throws {
        let catalog = try Self.catalog()
        let clip = try #require(catalog.kind(named: "clip"))
        // Checked with Python's jsonschema (installed with openapi-spec-validator): the schema is
        // valid 2020-12, and it accepts and refuses what the server's validator does.
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator as V
            schemas = json.loads(sys.argv[1])
            for s in schemas.values(): V.check_schema(s)
            create = V(schemas["create"], format_checker=V.FORMAT_CHECKER)
            ok = {"filetype": "snippet", "title": "Hi there", "station": "north", "offset": -9223372036854775808, "count": 1,
                  "gain": -12.5, "aired_on": "2026-01-31", "air_at": "2999-01-01T00:00:00Z", "notes": None, "tags": ["a"], "extra": 1}
            assert create.is_valid(ok), list(create.iter_errors(ok))
            assert create.is_valid(dict(ok, air_at="0001-01-01T00:30:00-01:00"))
            for bad in [dict(ok, title="no_underscores"), dict(ok, station="east"), dict(ok, offset=9223372036854775808),
                        dict(ok, count=0), dict(ok, count=11), dict(ok, gain=12.6), dict(ok, tags=[]), dict(ok, tags=["a"] * 4),
                        dict(ok, scores=[101]), dict(ok, title=None), dict(ok, title="a\\u0000b"), dict(ok, filetype="song"),
                        {k: v for k, v in ok.items() if k != "station"}, dict(ok, aired_on="2026-02-30x"),
                        dict(ok, air_at="0001-01-01T00:30:00+01:00"), dict(ok, air_at="9999-12-31T23:30:00-01:00")]:
                assert not create.is_valid(bad), bad
            update = V(schemas["update"])
            assert update.is_valid({}) and update.is_valid({"notes": None, "extra": True}) and not update.is_valid({"title": None})
            assert update.is_valid({"filetype": "snippet"}) and not update.is_valid({"filetype": "song"})
            song = V(schemas["song_create"])
            assert not song.is_valid({"filetype": "song", "name": "x", "duration": 1, "extra": 1})
            assert not song.is_valid({"filetype": "song", "name": "x" * 101, "duration": 1})
            assert song.is_valid({"filetype": "song", "name": "x" * 100, "duration": 2147483647})
            assert not song.is_valid({"filetype": "song", "name": "x", "duration": 2147483648})
            print("OK")
            """
        let schemas = JSONValue.object(
            JSONObject([
                ("record", KindJSONSchema.record(clip)), ("create", KindJSONSchema.createRequest(clip)),
                ("update", KindJSONSchema.updateRequest(clip)),
                ("song_create", KindJSONSchema.createRequest(try #require(catalog.kind(named: "song")))),
            ]))
        let output = try run("/usr/bin/env", ["python3", "-c", script, JSONWriter.string(schemas)])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
    }

    @Test func dateTimeYearRuleMatchesItsPattern() throws {
        let samples = [
            "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:09", "0001-01-01T23:00:00+01:00",
            "0001-01-01T00:00:00-05:00", "0001-01-02T00:00:00+23:59", "9999-12-31T23:59:59-00:01", "9999-12-31T23:59:59+01:00",
            "9999-12-31T23:59:59.999999Z", "9999-12-31t10:00:00-00:00", "2026-01-31T18:30:00.5+02:00", "0001-01-01 00:00:00+14:00",
        ]
        let expected = JSONValue.array(samples.map { .array([.string($0), .bool(RFC3339.staysWithinYears($0))]) })
        let script = """
            import json, re, sys
            pattern = re.compile(sys.argv[1])
            for text, stays in json.loads(sys.argv[2]):
                assert (pattern.search(text) is None) == stays, (text, stays)
            print("OK")
            """
        let output = try run("/usr/bin/env", ["python3", "-c", script, RFC3339.outsideYearsPattern, JSONWriter.string(expected)])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
        #expect(!RFC3339.staysWithinYears("0001-01-01T00:00:00+00:09") && RFC3339.staysWithinYears("0001-01-01T00:00:00-00:09"))
    }

    /// The served schema of a key's name accepts exactly the names `POST /api/keys` takes, judged by
    /// Python's jsonschema (what schemathesis generates from): the edges by hand, and random names
    /// drawn from digits, letters, line breaks and characters outside the BMP.
    @Test func keyNameRuleMatchesItsSchema() throws {
        var samples = [
            "ci", "123", "12a", "½", "٣", "a\nb", "a\r", "a\u{0B}b", "a\u{0C}", "a\u{85}", "a\u{2028}b", "a\u{2029}", "\r\n", "x\n",
            String(repeating: "é", count: 100), String(repeating: "e\u{301}", count: 50), String(repeating: "e\u{301}", count: 51),
            String(repeating: "😀", count: 100), String(repeating: "a", count: 101), " ", "\t", "0 1",
        ]
        let alphabet: [Character] = ["0", "7", "a", " ", "\n", "\r", "\u{0B}", "\u{85}", "\u{2028}", "½", "é", "😀", "\u{301}"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let length = Int.random(in: 0...6, using: &generator)
            samples.append(String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }))
        }
        let expected = JSONValue.array(samples.map { .array([.string($0), .bool(KeyName.accepts($0))]) })
        #expect(KeyName.accepts("ci") && !KeyName.accepts("123") && KeyName.accepts("½") && !KeyName.accepts("a\u{2028}b"))
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator as V
            name = V(json.loads(sys.argv[1]))
            for text, accepted in json.loads(sys.argv[2]):
                assert name.is_valid(text) == accepted, (text, accepted)
            print("OK")
            """
        let document = try JSONParser.parse(OpenAPIDocument.json(try Self.catalog(extra: false), serverURL: "http://127.0.0.1:8080"))
        let schema = try #require(document["components"]?["schemas"]?["APIKeyRequest"]?["properties"]?["name"])
        let output = try run("/usr/bin/env", ["python3", "-c", script, JSONWriter.string(schema), JSONWriter.string(expected)])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
    }

    // MARK: constraints

    @Test func recordSchemasCarryEveryConstraint() throws {
        let catalog = try Self.catalog()
        let doc = OpenAPIDocument.make(catalog)
        let song = try #require(doc["components", "schemas", "song.Record"])
        #expect(song["properties", "name", "maxLength"] == 100)
        #expect(song["properties", "name", "minLength"] == 1)
        #expect(song["properties", "duration", "maximum"] == 2147483647)
        #expect(song["properties", "duration", "minimum"] == 1)
        #expect(song["properties", "duration", "type"] == "integer")
        #expect(song["additionalProperties"] == false)
        #expect(song["required"] == ["id", "filetype", "name", "duration", "uploaded_time", "created_at", "updated_at", "file"])
        #expect(song["properties", "created_at", "format"] == "date-time")

        let podcast = try #require(doc["components", "schemas", "podcast.Record"])
        #expect(podcast["properties", "participants", "maxItems"] == 10)
        #expect(podcast["properties", "participants", "type"] == "array", "lists are never null in responses")
        #expect(podcast["properties", "participants", "items", "maxLength"] == 100)
        #expect(podcast["properties", "participants", "default"] == .array([]))
        let podcastCreate = try #require(doc["components", "schemas", "podcast.CreateRequest"])
        #expect(podcastCreate["properties", "participants", "type"] == ["array", "null"])
        #expect(podcastCreate["required"] == ["filetype", "name", "duration", "host"])
        #expect(podcastCreate["additionalProperties"] == false)

        let bookCreate = try #require(doc["components", "schemas", "audio_book.CreateRequest"])
        #expect(bookCreate["properties", "filetype", "enum"] == ["audio_book", "audiobook"])
        let createBody = try #require(doc["paths", "/api/audio/create", "post", "requestBody", "content", "application/json", "schema"])
        #expect(createBody["oneOf"]?.arrayValue?.contains(["$ref": "#/components/schemas/audio_book.CreateRequest"]) == true)

        // The fourth kind, from YAML only.
        let clip = try #require(doc["components", "schemas", "clip.Record"])
        #expect(clip["properties", "title", "pattern"] == "^[A-Za-z0-9 ]+$")
        #expect(clip["properties", "station", "enum"] == ["north", "south"])
        #expect(clip["properties", "offset", "minimum"] == .integer(Int64.min))
        #expect(clip["properties", "offset", "maximum"] == .integer(Int64.max))
        #expect(clip["properties", "count", "minimum"] == 1 && clip["properties", "count", "maximum"] == 10)
        #expect(clip["properties", "gain", "minimum"] == .double(-12.5))
        #expect(clip["properties", "aired_on", "anyOf"] == [["type": "string", "format": "date"], ["type": "null"]])
        #expect(clip["properties", "air_at", "anyOf"] == [["type": "string", "format": "date-time"], ["type": "null"]])
        #expect(clip["properties", "air_at", "x-not-in-past"] == true)
        #expect(clip["properties", "tags", "minItems"] == 1 && clip["properties", "tags", "default"] == ["x"])
        #expect(clip["properties", "plays", "type"] == ["integer", "null"])
        let clipCreate = try #require(doc["components", "schemas", "clip.CreateRequest"])
        #expect(clipCreate["additionalProperties"] == nil, "additional_fields: ignore")
        #expect(clipCreate["required"] == ["filetype", "title", "station"])
        #expect(clipCreate["properties", "title", "not"] != nil, "a declared pattern still refuses NUL")
        let clipUpdate = try #require(doc["components", "schemas", "clip.UpdateRequest"])
        #expect(clipUpdate["required"] == nil && clipUpdate["properties", "title", "type"] == "string")
        #expect(clipUpdate["properties", "filetype", "enum"] == ["clip", "snippet"])
        for path in ["/api/audio/clip", "/api/audio/clip/{id}", "/api/audio/clip/{id}/file"] {
            #expect(doc["paths", path] != nil, "\(path)")
        }
    }

    @Test func everyRouteAndParameterIsDescribed() throws {
        let catalog = try Self.catalog()
        let doc = OpenAPIDocument.make(catalog)
        let paths = try #require(doc["paths"]?.objectValue)
        var operations: [String] = []
        for (path, item) in paths {
            for method in item.objectValue?.keys ?? [] { operations.append("\(method.uppercased()) \(path)") }
        }
        for kind in catalog.names {
            for op in [
                "GET /api/audio/\(kind)", "GET /api/audio/\(kind)/{id}", "PATCH /api/audio/\(kind)/{id}",
                "PUT /api/audio/\(kind)/{id}", "DELETE /api/audio/\(kind)/{id}",
                "GET /api/audio/\(kind)/{id}/file", "HEAD /api/audio/\(kind)/{id}/file",
            ] {
                #expect(operations.contains(op), "\(op)")
            }
        }
        for op in ["POST /api/audio/create", "GET /api/kinds", "GET /api/kinds/{kind}", "GET /healthz", "GET /openapi.json"] {
            #expect(operations.contains(op), "\(op)")
        }

        // Every error response is a problem; the right headers are there.
        for (path, item) in paths {
            for (method, operation) in item.objectValue ?? JSONObject() {
                for (status, response) in operation["responses"]?.objectValue ?? JSONObject() where status.hasPrefix("4") || status.hasPrefix("5") {
                    #expect(
                        response["content", "application/problem+json", "schema", "$ref"] == "#/components/schemas/Problem",
                        "\(method) \(path) \(status)")
                }
            }
        }
        #expect(doc["paths", "/api/audio/create", "post", "responses", "201", "headers", "Location", "required"] == true)
        #expect(doc["paths", "/api/audio/song/{id}", "get", "responses", "200", "headers", "ETag"] != nil)
        #expect(doc["paths", "/api/audio/song/{id}/file", "get", "responses", "206", "headers", "Content-Range", "required"] == true)
        #expect(doc["paths", "/api/audio/song/{id}/file", "get", "responses", "416", "headers", "Content-Range"] != nil)
        #expect(doc["paths", "/api/audio/song/{id}", "patch", "responses", "412"] != nil)
        #expect(
            doc["paths", "/api/audio/song/{id}", "put", "requestBody", "content", "multipart/form-data", "schema", "properties", "file", "format"]
                == "binary")
        #expect(doc["components", "schemas", "Problem", "properties", "known_kinds"] != nil)
        // A public read still checks a key that is sent: a bad one is a 401, a locked-out address a 429.
        #expect(doc["paths", "/api/audio/song", "get", "security"] == .array([]))
        #expect(doc["paths", "/api/audio/song", "get", "responses", "401"] != nil)
        #expect(doc["paths", "/api/audio/song/{id}", "get", "responses", "429", "headers", "Retry-After", "required"] == true)
        #expect(doc["paths", "/healthz", "get", "responses", "429"] == nil, "open routes never look at a key")

        // List parameters: paging, sorting and the filters each field type allows.
        func parameters(_ kind: String) -> [String] {
            (doc["paths", "/api/audio/\(kind)", "get", "parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        let podcast = parameters("podcast")
        for name in [
            "limit", "cursor", "count", "sort", "has_file", "name", "name[contains]", "name[ne]", "duration",
            "duration[gt]", "duration[gte]", "duration[lt]", "duration[lte]", "duration[ne]", "host", "participants[has]",
        ] {
            #expect(podcast.contains(name), "\(name)")
        }
        #expect(!podcast.contains("participants") && !podcast.contains("duration[contains]"))
        let clip = parameters("clip")
        #expect(clip.contains("count[eq]") && clip.filter { $0 == "count" }.count == 1, "a field named like a paging parameter is filtered with [eq]")
        #expect(clip.contains("aired_on[gte]") && clip.contains("loud") && !clip.contains("loud[contains]"))
        #expect(Set(clip).count == clip.count, "parameter names are unique")
    }

    @Test func routeTableAllowsEveryDocumentedOperation() throws {
        let doc = OpenAPIDocument.make(try Self.catalog())
        for (path, item) in doc["paths"]?.objectValue ?? JSONObject() {
            let concrete = path.replacingOccurrences(of: "{id}", with: "1").replacingOccurrences(of: "{kind}", with: "song")
            let allowed = try #require(RouteTable.allowedMethods(path: concrete), "\(path)")
            for method in item.objectValue?.keys ?? [] { #expect(allowed.contains(method.uppercased()), "\(method) \(path)") }
        }
    }

    @Test func cliPrintsTheSameDocument() throws {
        // `swift build --build-tests` / `swift test` build the executable next to the test bundle.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("audio-server").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no audio-server at \(binary)")
        let kinds = TestDatabase.repositoryRoot.appendingPathComponent("kinds").path
        let printed = try run(binary, ["openapi", "--kinds-dir", kinds, "--server-url", "http://127.0.0.1:8080"])
        #expect(printed == OpenAPIDocument.json(try Self.catalog(extra: false), serverURL: "http://127.0.0.1:8080") + "\n")
        #expect(try JSONParser.parse(Array(printed.utf8))["servers"] == [["url": "http://127.0.0.1:8080"]])
    }

    // MARK: live routes

    @Test func servedDocumentAndKindSchemas() async throws {
        try await TestServer.run(extraKinds: ["clip.yaml": Self.clipYAML]) { client, context in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let served = try JSONParser.parse(Array(response.body.readableBytesView))
            let catalog = try KindLoader.load(directory: context.kindsDirectory)
            #expect(served == OpenAPIDocument.make(catalog))
            #expect(served["components", "schemas", "clip.Record"] != nil)

            let song = try await client.get("/api/kinds/song")
            #expect(song.status == .ok)
            let schema = try JSONParser.parse(Array(song.body.readableBytesView))
            #expect(schema == KindJSONSchema.input(try #require(catalog.kind(named: "song"))))
            #expect(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema")
            #expect(schema["properties", "name", "maxLength"] == 100)
            // What a form may send, not what a stored record has: no id, timestamps or file.
            #expect(schema["required"] == ["filetype", "name", "duration"])
            for stored in ["id", "created_at", "updated_at", "uploaded_time", "file"] { #expect(schema["properties", stored] == nil, "\(stored)") }
            #expect(schema["x-record-schema"] == "/openapi.json#/components/schemas/song.Record")
            #expect(served["components", "schemas", "song.Record", "properties", "id"] != nil)

            let alias = try await client.get("/api/kinds/audiobook")
            #expect(alias.status == .ok)
            #expect(try JSONParser.parse(Array(alias.body.readableBytesView))["title"] == "audio_book")

            let unknown = try await client.get("/api/kinds/nope")
            #expect(unknown.status == .notFound && unknown.isProblem)
            #expect(try unknown.json()["known_kinds"] == ["audio_book", "clip", "podcast", "song"])
        }
    }

    @Test func otherMethodsOnKnownPathsAre405WithAllow() async throws {
        try await TestServer.run { client, _ in
            let cases: [(String, HTTPRequest.Method, String)] = [
                ("/api/kinds", .delete, "GET, HEAD"),
                ("/openapi.json", .post, "GET, HEAD"),
                ("/api/keys", .put, "GET, HEAD, POST"),
                ("/api/keys/3", .get, "DELETE"),
                ("/api/audit", .post, "GET, HEAD"),
                ("/api/audio/song/1/file/link", .get, "POST"),
                ("/api/audio/create", .put, "POST"),
                ("/api/audio/song", .post, "GET, HEAD"),
                ("/api/audio/song/1", .post, "GET, HEAD, PATCH, PUT, DELETE, OPTIONS"),
                ("/api/audio/song/1/file", .delete, "GET, HEAD"),
            ]
            for (path, method, allow) in cases {
                let response = try await client.execute(uri: path, method: method)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow, "\(method) \(path)")
                #expect(response.isProblem)
            }
            let missing = try await client.get("/api/nothing/here")
            #expect(missing.status == .notFound && missing.isProblem)
        }
    }

    @Test func liveResponsesMatchTheirSchemas() async throws {
        try await TestServer.run(extraKinds: ["clip.yaml": Self.clipYAML]) { client, context in
            let catalog = try KindLoader.load(directory: context.kindsDirectory)
            let doc = JSONWriter.string(OpenAPIDocument.make(catalog))
            var samples: [(String, String)] = []
            func sample(_ schema: String, _ response: TestResponse) { samples.append((schema, response.text)) }
            sample(
                "podcast.Record", try await client.postJSON("/api/audio/create", #"{"filetype":"podcast","name":"Ep","duration":60,"host":"Joe"}"#))
            sample(
                "clip.Record", try await client.postJSON("/api/audio/create", #"{"filetype":"snippet","title":"Hi","station":"south","air_at":null}"#)
            )
            sample("clip.Page", try await client.get("/api/audio/clip?count=exact&sort=-plays"))
            sample("podcast.Page", try await client.get("/api/audio/podcast?limit=1&participants[has]=x"))
            sample("Problem", try await client.postJSON("/api/audio/create", #"{"filetype":"song","name":""}"#))
            sample("Problem", try await client.get("/api/audio/nope"))
            let script = """
                import json, sys
                from jsonschema import Draft202012Validator as V
                from referencing import Registry, Resource
                doc = json.load(open(sys.argv[1]))
                registry = Registry().with_resource("urn:doc", Resource.from_contents(doc, default_specification=__import__("referencing").jsonschema.DRAFT202012))
                for name, body in json.load(open(sys.argv[2])):
                    v = V({"$ref": "urn:doc#/components/schemas/" + name}, registry=registry, format_checker=V.FORMAT_CHECKER)
                    errors = [e.message for e in v.iter_errors(json.loads(body))]
                    assert not errors, (name, body, errors)
                print("OK")
                """
            let bodies = JSONValue.array(samples.map { .array([.string($0.0), .string($0.1)]) })
            // Through files: the document is larger than one command-line argument may be (128 KiB).
            let docPath = context.kindsDirectory + "/../openapi-doc.json"
            let bodiesPath = context.kindsDirectory + "/../openapi-bodies.json"
            try doc.write(toFile: docPath, atomically: true, encoding: .utf8)
            try JSONWriter.string(bodies).write(toFile: bodiesPath, atomically: true, encoding: .utf8)
            let output = try run("/usr/bin/env", ["python3", "-c", script, docPath, bodiesPath])
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "OK")
        }
    }
}

/// Subscripts through nested objects: `doc["paths", "/x", "get"]`.
extension JSONValue {
    subscript(_ keys: String...) -> JSONValue? {
        var current: JSONValue? = self
        for key in keys { current = current?.objectValue?[key] }
        return current
    }
}
