import ArgumentParser
import Foundation
import HTTPAPI
import KindModel

/// `audio-server openapi`: prints the OpenAPI 3.1 document for the kinds in kinds/ (the same one
/// `GET /openapi.json` serves), for client generators and CI. Needs no database.
struct OpenAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openapi",
        abstract: "Print the OpenAPI 3.1 document generated from kinds/.")
    @OptionGroup var settings: Settings
    @Option(name: .customLong("server-url"), help: "Add this base URL as the document's server, e.g. http://127.0.0.1:8080.")
    var serverURL: String?
    @Option(name: .shortAndLong, help: "Write the document to this file instead of standard output.")
    var output: String?

    func run() async throws {
        let catalog = try settings.loadKinds()
        let text = OpenAPIDocument.json(catalog, serverURL: serverURL) + "\n"
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
