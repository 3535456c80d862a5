import ArgumentParser

/// `audio-server`: the CLI. Wiring only — every subcommand calls into the library modules.
@main
struct AudioServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio-server",
        abstract: "An HTTP server for audio records and files whose kinds are declared in YAML.",
        subcommands: [
            ServeCommand.self, KindsCommand.self, MigrateCommand.self, OpenAPICommand.self, StorageCommand.self, KeysCommand.self, AuditCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )
}
