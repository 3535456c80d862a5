import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KindModel
import Logging
import NIOCore
import PostgresNIO
import Storage
import TestSupport
import Testing

@testable import HTTPAPI

@Suite struct QueryStrictnessTests {
    @Test func badPercentEncodingIs400AndARepeatedLimitTakesTheLast() async throws {
        try await TestServer.run { client, _ in
            for query in ["name=%ZZ", "name=%FF", "name%G1=x", "name=%"] {
                let response = try await client.get("/api/audio/song?\(query)")
                #expect(response.status == .badRequest && response.isProblem, "\(query): \(response.status)")
            }
            for i in 0..<3 { _ = try await client.create(#"{"filetype":"song","name":"s\#(i)","duration":3}"#) }
            #expect(try await client.get("/api/audio/song?limit=1&limit=2").json()["items"]?.arrayValue?.count == 2)
            // Filters may repeat: they combine with AND.
            #expect(try await client.get("/api/audio/song?duration[gte]=1&duration[gte]=2").status == .ok)
            #expect(try await client.get("/api/audio/song?name=%C3%9F").status == .ok)
        }
    }

    @Test func aByteOrderMarkBeforeTheJSONIsIgnored() async throws {
        try await TestServer.run { client, _ in
            let body = [UInt8]([0xEF, 0xBB, 0xBF]) + Array(#"{"filetype":"song","name":"bom","duration":3}"#.utf8)
            let response = try await client.execute(
                uri: "/api/audio/create", method: .post,
                headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
            #expect(response.status == .created, "\(response.text)")
        }
    }
}

@Suite struct SystemColumnFilterTests {
    @Test func idTimestampsAndUploadTimeFilterLikeFields() async throws {
        try await TestServer.run { client, _ in
            let a = try await client.create(#"{"filetype":"song","name":"a","duration":3}"#)
            let b = try await client.create(#"{"filetype":"song","name":"b","duration":3}"#)
            let c = try await client.create(#"{"filetype":"song","name":"c","duration":3}"#)
            let bRecord = try await client.get("/api/audio/song/\(b)").json()
            let bCreated = try #require(bRecord["created_at"]?.stringValue)
            // Touch a: its updated_at moves past b's creation, its created_at does not.
            let touched = try await client.execute(
                uri: "/api/audio/song/\(a)", method: .patch,
                headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"name":"a2"}"#))
            #expect(touched.status == .ok)
            #expect(try await client.ids("/api/audio/song?created_at[gte]=\(bCreated)") == [b, c])
            #expect(try await client.ids("/api/audio/song?updated_at[gt]=\(bCreated)&sort=updated_at") == [c, a])
            #expect(try await client.ids("/api/audio/song?id[gt]=\(a)&id[lte]=\(b)") == [b])
            #expect(try await client.ids("/api/audio/song?id=\(c)") == [c])
            // Nothing uploaded yet: comparisons on uploaded_time leave all records out, except `ne`
            // (IS DISTINCT FROM), which keeps the nulls (docs/api.md).
            #expect(try await client.ids("/api/audio/song?uploaded_time[gte]=2000-01-01T00:00:00Z") == [])
            #expect(try await client.ids("/api/audio/song?uploaded_time[ne]=2000-01-01T00:00:00Z") == [a, b, c])
            #expect(try await client.upload("/api/audio/song/\(c)", file: "wav_mono_s16.wav").status == .ok)
            #expect(try await client.ids("/api/audio/song?uploaded_time[gte]=2000-01-01T00:00:00Z") == [c])
            let uploaded = try #require(try await client.get("/api/audio/song/\(c)").json()["uploaded_time"]?.stringValue)
            #expect(try await client.ids("/api/audio/song?uploaded_time[ne]=\(uploaded)") == [a, b])
            #expect(try await client.ids("/api/audio/song?uploaded_time[ne]=\(uploaded)&has_file=true") == [])
            // Malformed values and operators that do not fit are 400s naming the parameter.
            for query in ["created_at[gt]=yesterday", "id[contains]=1", "updated_at[has]=x", "id=abc"] {
                let response = try await client.get("/api/audio/song?\(query)")
                #expect(response.status == .badRequest && response.isProblem, "\(query): \(response.status)")
            }
            // Escaped path segments are decoded like any other URL.
            #expect(try await client.get("/api/audio/so%6Eg/\(c)").status == .ok)
        }
    }
}
