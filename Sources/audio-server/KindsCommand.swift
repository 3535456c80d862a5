import ArgumentParser
import HTTPAPI
import KindModel
import Logging
import Storage

/// `audio-server kinds check|list`.
struct KindsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinds", abstract: "Check, list or reload the kinds in kinds/.",
        subcommands: [Check.self, List.self, Reload.self])

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask every server on DATABASE_URL to reload kinds/ (as SIGHUP does on one).",
            discussion: """
                Lints kinds/ here first. Each server then reloads from its own kinds/ folder and swaps the new kinds in only when
                they match the applied migrations; it logs `reloaded kinds`, or why it kept its kinds. Run `migrate apply` first
                when the change needs a migration.
                """)
        @OptionGroup var settings: Settings

        func run() async throws {
            let catalog = try settings.loadKinds()
            let url = try settings.requireDatabaseURL()
            let logger = settings.makeLogger()
            try await withDatabase(url, logger: logger) { client in
                try await NotificationListener.notify(KindReloader.channel, payload: "reload", on: client, logger: logger)
            }
            print("Asked every server on the database to reload kinds (\(catalog.names.joined(separator: ", "))); each logs the outcome.")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lint every kind file; print all problems as FILE:LINE:COL and exit non-zero if any.")
        @OptionGroup var settings: Settings

        func run() async throws {
            let catalog = try settings.loadKinds()
            print("\(catalog.kinds.count) kind\(catalog.kinds.count == 1 ? "" : "s") OK: \(catalog.names.joined(separator: ", "))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List kinds with their fields.")
        @OptionGroup var settings: Settings

        func run() async throws {
            for kind in try settings.loadKinds().kinds {
                let aliases = kind.aliases.isEmpty ? "" : " (aliases: \(kind.aliases.joined(separator: ", ")))"
                print("\(kind.name)\(aliases)")
                for field in kind.fields {
                    print(
                        "  \(field.name): \(field.isList ? "list of \(field.itemType!.rawValue)" : field.type.rawValue)\(field.required ? ", required" : "")"
                    )
                }
            }
        }
    }
}
