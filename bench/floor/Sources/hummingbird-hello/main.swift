// GET /_static answered by Hummingbird 2 with its defaults: the floor under every route of ours.
import Hummingbird

let router = Router()
router.get("/_static") { _, _ in "ok" }
let port = Int(CommandLine.arguments.dropFirst().first ?? "8092") ?? 8092
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
