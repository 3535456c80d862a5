import HTTPTypes

extension HTTPFields {
    /// A field's value exactly as `self[name]` gives it (several fields of the name joined, nil when
    /// there is none), without that subscript's generic join for the usual single field.
    ///
    /// Why: `self[name]` joins the values through a lazy map that the compiler does not specialize
    /// here, and every join looked up generic metadata at run time: reading `Authorization`,
    /// `Content-Type` and `Content-Length` that way was ~2.5 % of a create's server CPU (perf profile,
    /// docs/performance.md, "Measured reasons in the code"). Only the rare repeated field takes it.
    func value(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            if found != nil { return self[name] }
            found = field.value
        }
        return found
    }
}
