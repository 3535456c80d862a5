import HTTPTypes
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

/// `HTTPFields.value(_:)` reads a field as `HTTPFields`' own subscript does, in every case.
@Suite struct HeaderValueTests {
    @Test func aSingleFieldAnAbsentOneAndRepeatedOnesReadAsTheSubscriptReadsThem() {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .authorization, value: "Bearer one"))
        fields.append(HTTPField(name: .contentType, value: "application/json"))
        fields.append(HTTPField(name: .accept, value: "text/html"))
        fields.append(HTTPField(name: .accept, value: "application/json"))
        fields.append(HTTPField(name: .cookie, value: "a=1"))
        fields.append(HTTPField(name: .cookie, value: "b=2"))
        #expect(fields.value(.authorization) == "Bearer one")
        #expect(fields.value(.contentType) == "application/json")
        #expect(fields.value(.contentLength) == nil)
        // Repeated: joined, as the subscript joins them (", ", or "; " for cookies), so that two
        // `Authorization` fields never pass as the first one alone.
        #expect(fields.value(.accept) == "text/html, application/json")
        #expect(fields.value(.cookie) == "a=1; b=2")
        for name: HTTPField.Name in [.authorization, .contentType, .contentLength, .accept, .cookie] {
            #expect(fields.value(name) == fields[name], "\(name)")
        }
        // Names compare without regard to case.
        fields.append(HTTPField(name: HTTPField.Name("X-Request-ID")!, value: "abc"))
        #expect(fields.value(.xRequestID) == "abc")
    }
}
