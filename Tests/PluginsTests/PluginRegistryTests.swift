import Testing
@testable import Plugins

/// The one registry shape: defaults declared once, every value checked, names suggested.
@Suite struct PluginRegistryTests {
  static let registry = PluginRegistry<String>(
    kind: "rule",
    [
      Plugin("krum", "Krum", [.integer("f", 0, Check.nonNegative)]) { "krum f=\($0.int("f"))" },
      Plugin("multi_krum", "Multi-Krum", [.integer("f", 0), .integer("m", nil, derived: "n−f", Check.atLeastOne)]) {
        "m=\($0.optionalInt("m").map(String.init) ?? "derived")"
      },
      Plugin("targeted", "needs a source", [.integer("source", nil)]) { "source \($0.int("source"))" },
    ])

  @Test func defaultsAreFilledAndGivenValuesChecked() throws {
    #expect(try Self.registry.make("krum", [:]) == "krum f=0")
    #expect(try Self.registry.resolve("krum", [:]).values == ["f": 0])
    #expect(try Self.registry.make("multi_krum", [:]) == "m=derived")
    #expect(try Self.registry.make("multi_krum", ["m": 3]) == "m=3")
    #expect(throws: PluginError("f must be >= 0 for krum: got f=-1")) { try Self.registry.make("krum", ["f": -1]) }
    #expect(throws: PluginError("f must be an integer for krum: got f=1.5")) { try Self.registry.make("krum", ["f": 1.5]) }
    #expect(throws: PluginError("f is out of range for krum: got f=1e+30")) { try Self.registry.make("krum", ["f": 1e30]) }
    #expect(throws: PluginError("f must be a finite number for krum: got f=nan")) { try Self.registry.make("krum", ["f": .nan]) }
    #expect(throws: PluginError("targeted needs source")) { try Self.registry.make("targeted", [:]) }
  }

  @Test func unknownNamesAndKeysSuggestTheClosest() {
    #expect(throws: PluginError("unknown rule 'krumm' (did you mean \"krum\"?): one of krum, multi_krum, targeted")) {
      try Self.registry.make("krumm", [:])
    }
    #expect(throws: PluginError("krum has no parameter 'g' (it takes: f)")) { try Self.registry.make("krum", ["g": 1]) }
    #expect(throws: PluginError("multi_krum has no parameter 'mm' (did you mean 'm'?) (it takes: f, m)")) {
      try Self.registry.make("multi_krum", ["mm": 1])
    }
    // Damerau distance: one transposition is one edit.
    #expect(Suggestion.distance("eval_evry", "eval_every") == 1)
    #expect(Suggestion.distance("reqeusts", "requests") == 1)
    #expect(Suggestion.closest(to: "zzzz", in: ["krum"]) == nil)
  }

  @Test func listingShowsEveryDefault() {
    #expect(Self.registry.listing[1].hasSuffix("Multi-Krum — f=0, m=n−f"))
    #expect(Self.registry.listing[2].hasSuffix("needs a source — source=required"))
  }
}
