import KindModel

/// Immutable SQL functions that CHECK constraints on list columns call, defined once: the
/// migration step that installs them, the constraints and type-change guards that call them, and
/// the drift check that looks for them all read this list.
public enum HelperFunction: String, CaseIterable, Sendable {
    case itemsMinLength = "items_min_length", itemsMaxLength = "items_max_length", itemsMatch = "items_match"
    case itemsMin = "items_min", itemsMax = "items_max"

    /// Parameters, as `pg_get_function_identity_arguments` prints them.
    var parameters: String {
        switch self {
        case .itemsMinLength: "items text[], lo integer"
        case .itemsMaxLength: "items text[], hi integer"
        case .itemsMatch: "items text[], pattern text"
        case .itemsMin: "items double precision[], lo double precision"
        case .itemsMax: "items double precision[], hi double precision"
        }
    }

    /// The test every item must pass (`x`: one item).
    var itemTest: String {
        switch self {
        case .itemsMinLength: "char_length(x) >= lo"
        case .itemsMaxLength: "char_length(x) <= hi"
        case .itemsMatch: "x ~ pattern"
        case .itemsMin: "x >= lo"
        case .itemsMax: "x <= hi"
        }
    }

    /// `name(parameters)`: how the drift check names it.
    public var signature: String { "\(rawValue)(\(parameters))" }

    /// `audio_server.items_min(<column>::double precision[], <bound>)`.
    public func call(_ arguments: String...) -> String { "\(ServerSchema.name).\(rawValue)(\(arguments.joined(separator: ", ")))" }

    var createStatement: String {
        """
        CREATE OR REPLACE FUNCTION \(ServerSchema.name).\(rawValue)(\(parameters)) RETURNS boolean
          LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(bool_and(\(itemTest)), true) FROM unnest(items) AS x $$
        """
    }

    /// The schema, then every function (the `installHelpers` migration step).
    public static var statements: [String] { [ServerSchema.create] + allCases.map(\.createStatement) }
}
