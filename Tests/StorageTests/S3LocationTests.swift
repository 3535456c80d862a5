import Testing

@testable import Storage

/// `s3://` URLs, the XML scanner and the error mapping: no server needed.
@Suite struct S3LocationTests {
    @Test func parsesSeaweedFSStyleURL() throws {
        let location = try S3Location(parsing: "s3://audio-files/catalogue/v1?endpoint=http://127.0.0.1:8333&region=eu-west-1&path_style=true")
        #expect(location.bucket == "audio-files")
        #expect(location.prefix == "catalogue/v1/")
        #expect(location.endpoint == "http://127.0.0.1:8333")
        #expect(location.region == "eu-west-1")
        #expect(location.pathStyle)
        #expect(location.requestHost == "127.0.0.1:8333")
        #expect(location.path(fullKey: "catalogue/v1/a.wav") == "/audio-files/catalogue/v1/a.wav")
    }

    @Test func defaultsToAWSVirtualHosted() throws {
        let location = try S3Location(parsing: "s3://my-bucket")
        #expect(location.prefix == "")
        #expect(location.endpoint == "https://s3.us-east-1.amazonaws.com")
        #expect(!location.pathStyle)
        #expect(location.requestHost == "my-bucket.s3.us-east-1.amazonaws.com")
        #expect(location.path(fullKey: "x/y") == "/x/y")
    }

    @Test func defaultPortsAreLeftOutOfTheHost() throws {
        #expect(try S3Location(parsing: "s3://abc?endpoint=http://minio:80&path_style=1").requestHost == "minio")
        #expect(try S3Location(parsing: "s3://abc?endpoint=https://minio:443&path_style=1").requestHost == "minio")
        #expect(try S3Location(parsing: "s3://abc?endpoint=https://minio:9000").requestHost == "abc.minio:9000")
    }

    @Test func rejectsWhatItCannotUse() {
        #expect(throws: S3LocationError.notS3URL("file:///tmp")) { try S3Location(parsing: "file:///tmp") }
        #expect(throws: S3LocationError.invalidBucket("ab")) { try S3Location(parsing: "s3://ab") }
        #expect(throws: S3LocationError.invalidBucket("")) { try S3Location(parsing: "s3:///prefix") }
        #expect(throws: S3LocationError.invalidEndpoint("ftp://x")) { try S3Location(parsing: "s3://abc?endpoint=ftp://x") }
        #expect(throws: S3LocationError.invalidParameter("path_style", "maybe")) { try S3Location(parsing: "s3://abc?path_style=maybe") }
        #expect(throws: S3LocationError.unknownParameter("endpiont")) { try S3Location(parsing: "s3://abc?endpiont=http://x:1") }
    }

    @Test func xmlScannerReadsListingsAndEntities() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix>\
            <Contents><Key>a &amp; b&#x2F;c&lt;1&gt;.wav</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>\
            <Contents><Key>d</Key><Size>3</Size><Owner><ID>x</ID></Owner></Contents><IsTruncated>true</IsTruncated>\
            <NextContinuationToken>tok/+=</NextContinuationToken><KeyCount/></ListBucketResult>
            """
        let contents = S3XML.elements("Contents", in: xml[...])
        #expect(contents.count == 2)
        #expect(S3XML.value("Key", in: contents[0]) == "a & b/c<1>.wav")
        #expect(S3XML.value("ETag", in: contents[0]) == "\"abc\"")
        #expect(S3XML.value("Size", in: contents[1]) == "3")
        #expect(S3XML.value("Prefix", in: xml[...]) == "")
        #expect(S3XML.value("KeyCount", in: xml[...]) == "")
        #expect(S3XML.value("NextContinuationToken", in: xml[...]) == "tok/+=")
        #expect(S3XML.value("Missing", in: xml[...]) == nil)
        // <Key> must not match <KeyCount>
        #expect(S3XML.elements("Key", in: "<KeyCount>1</KeyCount>"[...]).isEmpty)
        #expect(S3XML.decode("&bogus; & &#65;") == "&bogus; & A")
        #expect(S3XML.escape("\"a\"&<b>") == "&quot;a&quot;&amp;&lt;b&gt;")
    }

    @Test func errorBodiesMapToCases() {
        func error(_ status: Int, _ code: String?, key: String? = "k") -> ObjectStorageError {
            let body = code.map { "<?xml version=\"1.0\"?><Error><Code>\($0)</Code><Message>m &amp; n</Message></Error>" } ?? ""
            return ObjectStorageError.from(status: status, body: body, bucket: "bkt", key: key, uploadID: "u1")
        }
        #expect(error(404, "NoSuchBucket") == .noSuchBucket(bucket: "bkt"))
        #expect(error(404, "NoSuchKey") == .notFound(key: "k"))
        #expect(error(404, "NoSuchUpload") == .noSuchUpload(uploadID: "u1"))
        #expect(error(403, "SignatureDoesNotMatch") == .invalidCredentials(code: "SignatureDoesNotMatch", message: "m & n"))
        #expect(error(403, "InvalidAccessKeyId") == .invalidCredentials(code: "InvalidAccessKeyId", message: "m & n"))
        #expect(error(403, "AccessDenied") == .accessDenied(message: "m & n"))
        #expect(error(416, "InvalidRange") == .invalidRange)
        #expect(error(500, "InternalError") == .unexpected(status: 500, code: "InternalError", message: "m & n"))
        // HEAD answers carry no body
        #expect(error(403, nil) == .accessDenied(message: "403 with no error body"))
        #expect(error(404, nil) == .notFound(key: "k"))
        #expect(error(404, nil, key: nil) == .noSuchBucket(bucket: "bkt"))
        #expect(error(416, nil) == .invalidRange)
        #expect(error(502, nil) == .unexpected(status: 502, code: nil, message: nil))
        // An endpoint that is not S3 (here: a JSON 404 of some web API) is not "no such bucket".
        let notS3 = ObjectStorageError.from(status: 404, body: #"{"type":"/problems/no-route"}"#, bucket: "bkt", key: nil)
        guard case .unexpected(404, nil, let message?) = notS3 else {
            Issue.record("\(notS3)")
            return
        }
        #expect(message.contains("S3 server"))
    }

    @Test func contentRangeHeader() {
        let full = ObjectStorageClient.contentRange("bytes 0-9/100")
        #expect(full?.range == 0...9)
        #expect(full?.total == 100)
        let unknownTotal = ObjectStorageClient.contentRange("bytes 5-5/*")
        #expect(unknownTotal?.range == 5...5)
        #expect(unknownTotal?.total == nil)
        #expect(ObjectStorageClient.contentRange("bytes */100") == nil)
        #expect(ObjectStorageClient.contentRange("items 0-1/2") == nil)
    }
}
