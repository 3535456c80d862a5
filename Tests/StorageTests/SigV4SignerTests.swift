import Foundation
import Storage
import Testing

/// The SigV4 signer against AWS's published example and golden cases from botocore 1.43 (the
/// machine's Python), made with the same credentials and clock:
/// `SigV4Auth`/`S3SigV4Auth`/`S3SigV4QueryAuth`, AKIDEXAMPLE, 2015-08-30T12:36:00Z.
@Suite struct SigV4SignerTests {
    static let credentials = ObjectStorageCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    static func header(_ headers: [(String, String)], _ name: String) -> String? { headers.first { $0.0 == name }?.1 }

    /// AWS's SigV4 test suite, `get-vanilla`.
    @Test func awsGetVanilla() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        let headers = signer.sign(
            .init(method: "GET", host: "example.amazonaws.com", path: "/"), payloadHash: SigV4Signer.emptyPayloadHash,
            date: Self.date, contentHashHeader: false)
        #expect(Self.header(headers, "x-amz-date") == "20150830T123600Z")
        #expect(
            Self.header(headers, "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    }

    @Test func s3PutWithPayloadHash() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let hash = SigV4Signer.payloadHash(Array("hello".utf8))
        #expect(hash == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        let headers = signer.sign(
            .init(method: "PUT", host: "127.0.0.1:8333", path: "/bucket/prefix/song/1.wav", headers: [("Content-Type", "audio/wav")]),
            payloadHash: hash, date: Self.date)
        #expect(
            Self.header(headers, "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=d4adbdd6ea3786df2cf8463ebed087c76c65982806dcaa09795f7d258b5b962b"
        )
    }

    /// Query values are encoded once, by SigV4's rules (`/` and `+` escaped), and sorted (botocore with
    /// `params={"list-type": "2", "prefix": "a b/", "continuation-token": "x+y"}`).
    @Test func s3ListWithEncodedQuery() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let request = SigV4Signer.Request(
            method: "GET", host: "127.0.0.1:8333", path: "/bucket",
            query: [("list-type", "2"), ("prefix", "a b/"), ("continuation-token", "x+y")])
        let headers = signer.sign(request, payloadHash: SigV4Signer.emptyPayloadHash, date: Self.date)
        #expect(
            Self.header(headers, "Authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=4cb4b636336f283e50bb435360c064916a253fd2e8f878daf25092978992947d"
        )
    }

    @Test func presignedGet() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1")
        let query = signer.presignedQuery(
            .init(
                method: "GET", host: "127.0.0.1:8333", path: "/bucket/song/1.wav",
                query: [("response-content-type", "audio/wav")]), expires: 300, date: Self.date)
        #expect(
            query
                == "response-content-type=audio%2Fwav&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=d6d3285c66daa3025f63cdc5ea613a0e9c36e47eff15382d1d150de90401c92f"
        )
    }

    @Test func encodingFollowsRFC3986() {
        #expect(SigV4Signer.encode("AZaz09-_.~") == "AZaz09-_.~")
        #expect(SigV4Signer.encode("a b/+=&é") == "a%20b%2F%2B%3D%26%C3%A9")
    }
}
