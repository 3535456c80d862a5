import Testing

@testable import HTTPAPI

/// Which `Content-Type` values a JSON body may come with (everything else is a 415).
@Suite struct HeaderTextTests {
    @Test(arguments: [
        "application/json", "Application/JSON; charset=UTF-8", " application/json ;x=y",
        "\tapplication/json\t", "application/problem+json", "application/vnd.api+json; v=1",
    ])
    func jsonTypesAreAccepted(_ type: String) {
        #expect(JSONBody.isJSON(type))
    }

    @Test(arguments: [
        "", " ", "text/plain", "application/jsonx", "json", "text/json", "application/xml",
        "application/json-patch", "multipart/form-data; boundary=x+json",
    ])
    func otherTypesAreRefused(_ type: String) {
        #expect(!JSONBody.isJSON(type))
    }

    @Test func mediaTypeAndTrimming() {
        #expect(HeaderText.mediaType(" Multipart/Form-Data ; boundary=AbC") == "multipart/form-data")
        #expect(HeaderText.mediaType(";") == "")
        #expect(HeaderText.trimmed(Array(" \t a b \t".utf8)) == "a b")
        #expect(HeaderText.trimmed(Array(" \t ".utf8)) == "")
    }
}
