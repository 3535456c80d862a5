import Foundation
import KindModel
import TestSupport
import Testing

@testable import Schema

/// Property: for random sequences of kind edits, applying the generated migrations one by one
/// yields exactly the catalog (tables, columns, types, nullability, defaults, constraints,
/// indexes, sequences — read from pg_catalog) that generating `0001` from the final kinds gives
/// on an empty database. Seeded, so a failure names the seed that reproduces it; 24 sequences by
/// default, `SCHEMA_PROPERTY_SEEDS=200 swift test --filter PropertyTests` for a deeper run.
@Suite struct PropertyTests {
    static let seeds: [UInt64] = Array(1...(UInt64(ProcessInfo.processInfo.environment["SCHEMA_PROPERTY_SEEDS"] ?? "") ?? 24))

    @Test(arguments: seeds)
    func migrationsMatchAFreshSchema(seed: UInt64) async throws {
        var gen = KindEditor(seed: seed)
        var current = (0..<gen.int(1...3)).map { _ in gen.newKind() }
        var log: [String] = []
        let stepwise = try await Fixture.make("prop")
        let fresh = try await Fixture.make("fresh")
        defer {
            stepwise.remove()
            fresh.remove()
        }

        try await stepwise.migrate(KindCatalog(current))
        for _ in 0..<gen.int(1...5) {
            var next = current
            gen.fieldsAddedSinceLastMigration = []
            for _ in 0..<gen.int(1...2) { log.append(gen.edit(&next)) }
            let file = try stepwise.directory.generate(for: KindCatalog(next), options: PlanningOptions(allowDestructive: true))
            if let file {
                let applied = try await stepwise.apply()
                #expect(applied == [file.name], "seed \(seed): \(log)")
            }
            current = next
        }
        try fresh.generate(KindCatalog(current))
        try await fresh.apply()

        let a = try await stepwise.catalog()
        let b = try await fresh.catalog()
        let differences = b.differences(from: a)
        #expect(differences.isEmpty, "seed \(seed), edits \(log):\n\(differences.joined(separator: "\n"))")
        if differences.isEmpty { #expect(a == b, "seed \(seed)") }
        // And `migrate check` agrees: no drift against the final snapshot.
        let report = try await stepwise.runner { try await $0.checkDrift() }
        #expect(report.isClean, "seed \(seed): \(report.differences)")
    }
}

/// SplitMix64: a tiny seeded generator, identical on every platform.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// Random kinds and random edits of them, always valid (as the kind linter would accept) and
/// always within what the planner generates (renames, lossless or guarded type changes, any rule,
/// `indexes:` entries added and removed).
struct KindEditor {
    var rng: SplitMix64
    var counter = 0
    /// Fields that the next migration adds: a later edit in the same batch must keep them addable.
    var fieldsAddedSinceLastMigration: Set<String> = []

    init(seed: UInt64) { rng = SplitMix64(state: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...items.count - 1)] }
    mutating func freshName(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)\(counter)"
    }

    mutating func newKind() -> KindDefinition {
        KindDefinition(name: freshName("k"), fields: (0..<int(1...3)).map { _ in newField(name: freshName("f"), isNew: false) })
    }

    static let scalarTypes: [FieldType] = [.string, .text, .integer, .number, .boolean, .datetime, .date, .enum]
    static let itemTypes: [FieldType] = [.string, .text, .integer, .number, .enum]

    /// A random valid field; `isNew` fields that are required get a default (the planner demands one).
    mutating func newField(name: String, isNew: Bool, type forced: FieldType? = nil, itemType forcedItem: FieldType? = nil) -> FieldDefinition {
        let type = forced ?? (chance(0.2) ? .list : pick(Self.scalarTypes))
        var f = FieldDefinition(name: name, type: type)
        if type == .list {
            let item = forcedItem ?? pick(Self.itemTypes)
            f.itemType = item
            f.rules = rules(for: item)
            if chance(0.4) { f.minItems = isNew ? 0 : int(0...1) }
            if chance(0.5) { f.maxItems = int(2...10) }
            if chance(0.3) { f.defaultValue = .array([]) }
            f.required = chance(0.3)
            return f
        }
        f.rules = rules(for: type)
        f.required = chance(0.4)
        f.unique = chance(0.15)
        f.index = chance(0.2)
        if (f.required && isNew) || chance(0.3) { f.defaultValue = validDefault(type, f.rules) }
        if f.required && isNew && f.defaultValue == nil { f.required = false }
        if f.unique && f.defaultValue != nil && chance(0.5) {
            f.defaultValue = nil
            f.required = f.required && !isNew
        }
        return f
    }

    /// Rules whose defaults below always satisfy them: text defaults are "abc", numbers 5.
    mutating func rules(for type: FieldType) -> ValueRules {
        var r = ValueRules()
        switch type {
        case .string, .text:
            if type == .string || chance(0.5) { r.maxLength = pick([3, 10, 40, 100, 255]) }
            if chance(0.5) { r.minLength = int(0...3) }
            if chance(0.3) { r.pattern = pick(["^[a-z]+$", "^[a-c]{1,9}$", "b"]) }
        case .integer, .number:
            if chance(0.5) { r.min = Double(pick([-10, 0, 1, 5])) }
            if chance(0.5) { r.max = Double(pick([5, 100, 2147483647])) }
            if type == .number && chance(0.3) { r.max = 7.5 }
        case .enum:
            r.enumValues = Array(["abc", "def", "ghi", "it's"].prefix(int(1...4)))
        default:
            break
        }
        return r
    }

    func validDefault(_ type: FieldType, _ r: ValueRules) -> JSONValue? {
        switch type {
        case .string, .text, .enum: return "abc"
        case .integer, .number: return 5
        case .boolean: return true
        case .date: return "2024-02-29"
        case .datetime, .list: return nil
        }
    }

    /// Types a field may change to in one migration without being refused.
    func compatibleTypes(_ type: FieldType) -> [FieldType] {
        switch type {
        case .string, .text, .enum: [.string, .text, .enum]
        case .integer: [.integer, .number]
        default: [type]
        }
    }

    /// Applies one random edit to `kinds`; returns what it did, for failure messages.
    mutating func edit(_ kinds: inout [KindDefinition]) -> String {
        switch int(0...11) {
        case 0:
            let kind = newKind()
            kinds.append(kind)
            return "add kind \(kind.name)"
        case 1 where kinds.count > 1:
            let removed = kinds.remove(at: int(0...kinds.count - 1))
            return "remove kind \(removed.name)"
        case 2:
            let i = int(0...kinds.count - 1)
            let old = kinds[i].name
            kinds[i].name = freshName("k")
            kinds[i].renamedFrom = old
            return "rename kind \(old) → \(kinds[i].name)"
        case 3, 4:
            let i = int(0...kinds.count - 1)
            let field = newField(name: freshName("f"), isNew: true)
            kinds[i].fields.insert(field, at: int(0...kinds[i].fields.count))
            fieldsAddedSinceLastMigration.insert(field.name)
            return "add field \(kinds[i].name).\(field.name) \(field.type)\(field.required ? " required" : "")"
        case 5 where kinds.contains { $0.fields.count > 1 }:
            let i = kinds.indices.filter { kinds[$0].fields.count > 1 }.first!
            let removed = kinds[i].fields.remove(at: int(0...kinds[i].fields.count - 1))
            kinds[i].indexes.removeAll { $0.keys.contains { $0.field == removed.name } }
            return "remove field \(kinds[i].name).\(removed.name)"
        case 6:
            let i = int(0...kinds.count - 1)
            let j = int(0...kinds[i].fields.count - 1)
            let old = kinds[i].fields[j].name
            kinds[i].fields[j].name = freshName("f")
            kinds[i].fields[j].renamedFrom = old
            kinds[i].indexes = kinds[i].indexes.map { $0.renamingFields([old: kinds[i].fields[j].name]) }
            if fieldsAddedSinceLastMigration.contains(old) { fieldsAddedSinceLastMigration.insert(kinds[i].fields[j].name) }
            return "rename field \(kinds[i].name).\(old) → \(kinds[i].fields[j].name)"
        case 10 where kinds.contains { $0.fields.filter { !$0.isList }.count > 1 }:
            let i = kinds.indices.filter { kinds[$0].fields.filter { !$0.isList }.count > 1 }.first!
            let names = kinds[i].fields.filter { !$0.isList }.map(\.name).shuffled(using: &rng)
            // Two keys or more: one key could take the name of a field's own index, which the linter refuses.
            var keys = names.prefix(int(2...min(3, names.count))).map { IndexKey(field: $0, descending: chance(0.5)) }
            if chance(0.2) { keys.append(IndexKey(field: pick(["id", "created_at"]), descending: chance(0.5))) }
            let index = KindIndex(keys: keys)
            if !kinds[i].indexes.contains(index) { kinds[i].indexes.append(index) }
            return "add index \(kinds[i].name) [\(index)]"
        case 11 where kinds.contains { !$0.indexes.isEmpty }:
            let i = kinds.indices.filter { !kinds[$0].indexes.isEmpty }.first!
            let removed = kinds[i].indexes.remove(at: int(0...kinds[i].indexes.count - 1))
            return "remove index \(kinds[i].name) [\(removed)]"
        default:
            // Change a field's rules (and maybe its type, within lossless or guarded changes).
            let i = int(0...kinds.count - 1)
            let j = int(0...kinds[i].fields.count - 1)
            let old = kinds[i].fields[j]
            let type = pick(compatibleTypes(old.type))
            let item = old.itemType.map { pick(compatibleTypes($0)) }
            var changed = newField(name: old.name, isNew: fieldsAddedSinceLastMigration.contains(old.name), type: type, itemType: item)
            changed.renamedFrom = old.renamedFrom
            kinds[i].fields[j] = changed
            return
                "change \(kinds[i].name).\(old.name) \(old.isList ? "list of \(old.itemType!)" : "\(old.type)") → \(changed.isList ? "list of \(changed.itemType!)" : "\(changed.type)")"
        }
    }
}
