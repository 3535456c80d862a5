import ArgumentParser
import KindModel

/// `audio-server kinds check|list`.
struct KindsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kinds", abstract: "Check or list the kinds in kinds/.",
                                                    subcommands: [Check.self, List.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lint every kind file; print all problems as FILE:LINE:COL and exit non-zero if any.")
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
                    print("  \(field.name): \(field.isList ? "list of \(field.itemType!.rawValue)" : field.type.rawValue)\(field.required ? ", required" : "")")
                }
            }
        }
    }
}
