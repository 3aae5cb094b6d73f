/// The one shape of every registry of plug-ins — aggregators, pre-aggregators, update and data
/// attacks, covert channels, auditors: each plug-in declares its name, a summary, its parameters
/// with their defaults and checks once, and a constructor from the resolved arguments. The
/// topology decoder, the CLI's `--list` and help, and the runtime all read the same entries.
public struct PluginRegistry<Product>: Sendable {
  /// What the plug-ins are, for messages ("aggregator", "update attack", ...).
  public let kind: String
  public let plugins: [Plugin<Product>]

  public init(kind: String, _ plugins: [Plugin<Product>]) {
    self.kind = kind
    self.plugins = plugins
  }

  public var names: [String] { plugins.map(\.name) }

  public func plugin(_ name: String) throws -> Plugin<Product> {
    guard let p = plugins.first(where: { $0.name == name }) else {
      let hint = Suggestion.closest(to: name, in: names).map { " (did you mean \"\($0)\"?)" } ?? ""
      throw PluginError("unknown \(kind) '\(name)'\(hint): one of \(names.joined(separator: ", "))")
    }
    return p
  }

  /// The plug-in's arguments with defaults filled in, every given value checked.
  /// - context: values the caller supplies (never the user), e.g. the number of classes.
  public func resolve(_ name: String, _ values: [String: Double], context: [String: Double] = [:]) throws -> Arguments {
    try plugin(name).resolve(values, context: context)
  }

  /// Builds `name` from `values`; every mistake is an error that names the parameter and the rule.
  public func make(_ name: String, _ values: [String: Double], context: [String: Double] = [:]) throws -> Product {
    let p = try plugin(name)
    return try p.build(try p.resolve(values, context: context))
  }

  /// One line per plug-in: name, summary, parameters with their defaults (`--list`).
  public var listing: [String] {
    plugins.map { p in
      let params = p.parameters.map { "\($0.name)=\($0.defaultText)" }.joined(separator: ", ")
      let name = p.name + String(repeating: " ", count: max(0, 18 - p.name.count))
      return "  \(name) \(p.summary)\(params.isEmpty ? "" : " — " + params)"
    }
  }
}

/// One plug-in: its name, summary, parameters and constructor.
public struct Plugin<Product>: Sendable {
  public let name: String
  public let summary: String
  public let parameters: [Parameter]
  /// Accepts keys outside `parameters` (a label-flip mapping's labels), checked by the constructor.
  public let openKeys: Bool
  let build: @Sendable (Arguments) throws -> Product

  public init(
    _ name: String, _ summary: String, _ parameters: [Parameter] = [], openKeys: Bool = false,
    build: @escaping @Sendable (Arguments) throws -> Product
  ) {
    self.name = name; self.summary = summary; self.parameters = parameters; self.openKeys = openKeys; self.build = build
  }

  func resolve(_ values: [String: Double], context: [String: Double]) throws -> Arguments {
    var resolved: [String: Double] = [:]
    let known = Set(parameters.map(\.name))
    for key in values.keys.sorted() where !known.contains(key) && !openKeys {
      let hint = Suggestion.closest(to: key, in: parameters.map(\.name)).map { " (did you mean '\($0)'?)" } ?? ""
      throw PluginError(
        "\(name) has no parameter '\(key)'\(hint) (it takes: \(parameters.isEmpty ? "none" : parameters.map(\.name).joined(separator: ", ")))"
      )
    }
    for (key, v) in values where !known.contains(key) {
      guard v.isFinite else { throw PluginError("\(key) must be a finite number for \(name): got \(v)") }
      resolved[key] = v
    }
    for p in parameters {
      guard let v = values[p.name] ?? p.defaultValue else {
        if p.required { throw PluginError("\(name) needs \(p.name)") }
        continue
      }
      if let why = p.problem(v) { throw PluginError("\(p.name) \(why) for \(name): got \(p.name)=\(Parameter.render(v))") }
      resolved[p.name] = v
    }
    return Arguments(plugin: name, values: resolved, given: Set(values.keys), context: context)
  }
}

/// A plug-in's parameter: a number, whole or real, with a default and a check.
public struct Parameter: Sendable {
  public enum Kind: Sendable { case integer, real }
  public let name: String
  public let kind: Kind
  /// nil: no fixed default (required, or derived by the plug-in: `derived` says how).
  public let defaultValue: Double?
  /// How the plug-in chooses a value when none is given and there is no fixed default.
  public let derived: String?
  let check: @Sendable (Double) -> String?

  public var required: Bool { defaultValue == nil && derived == nil }
  public var defaultText: String { defaultValue.map(Self.render) ?? derived ?? "required" }

  public static func integer(
    _ name: String, _ defaultValue: Double?, derived: String? = nil,
    _ check: @escaping @Sendable (Double) -> String? = { _ in nil }
  ) -> Parameter {
    Parameter(name: name, kind: .integer, defaultValue: defaultValue, derived: derived, check: check)
  }

  public static func real(
    _ name: String, _ defaultValue: Double?, derived: String? = nil,
    _ check: @escaping @Sendable (Double) -> String? = { _ in nil }
  ) -> Parameter {
    Parameter(name: name, kind: .real, defaultValue: defaultValue, derived: derived, check: check)
  }

  /// Why `v` is not a valid value, or nil.
  func problem(_ v: Double) -> String? {
    guard v.isFinite else { return "must be a finite number" }
    if kind == .integer {
      guard v == v.rounded() else { return "must be an integer" }
      guard abs(v) <= 1e15 else { return "is out of range" }
    }
    return check(v)
  }

  static func render(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v) }
}

/// Common checks, each a sentence fragment after the parameter's name.
public enum Check {
  public static let nonNegative: @Sendable (Double) -> String? = { $0 >= 0 ? nil : "must be >= 0" }
  public static let positive: @Sendable (Double) -> String? = { $0 > 0 ? nil : "must be > 0" }
  public static let atLeastOne: @Sendable (Double) -> String? = { $0 >= 1 ? nil : "must be >= 1" }
  public static func within(_ r: ClosedRange<Double>, _ text: String) -> @Sendable (Double) -> String? {
    { r.contains($0) ? nil : text }
  }
}

/// The resolved arguments of one plug-in instance.
public struct Arguments: Sendable {
  public let plugin: String
  /// Given values and defaults, all checked.
  public let values: [String: Double]
  /// The keys the user gave (the rest are defaults).
  public let given: Set<String>
  /// Values supplied by the caller (e.g. `classes`).
  public let context: [String: Double]

  public func double(_ name: String) -> Double { values[name]! }
  public func float(_ name: String) -> Float { Float(values[name]!) }
  public func int(_ name: String) -> Int { Int(values[name]!) }
  /// A parameter without a fixed default: nil when not given.
  public func optionalInt(_ name: String) -> Int? { values[name].map { Int($0) } }
  public func optionalDouble(_ name: String) -> Double? { values[name] }
  public func isGiven(_ name: String) -> Bool { given.contains(name) }
}

/// Everything a registry refuses: the message names the plug-in, the parameter and the rule.
public struct PluginError: PluginFailure, Equatable, CustomStringConvertible {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// The errors plug-ins and their registries throw: one sentence for the user.
public protocol PluginFailure: Error {
  var message: String { get }
}

/// "Did you mean": the closest known name within an edit distance of 2.
public enum Suggestion {
  public static func closest(to word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= 2 && $0.1 < max(word.count, 1) }
    return scored.min { $0.1 < $1.1 }?.0
  }

  /// Damerau–Levenshtein (optimal string alignment) distance.
  public static func distance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
    for i in 0...x.count { d[i][0] = i }
    for j in 0...y.count { d[0][j] = j }
    for i in 1...x.count {
      for j in 1...y.count {
        let cost = x[i - 1] == y[j - 1] ? 0 : 1
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
        if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
      }
    }
    return d[x.count][y.count]
  }
}
