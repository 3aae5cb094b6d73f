/// An optional that a JSON file always spells out: `nil` is written as `null`, so every line of
/// metrics.jsonl and every summary has every key (scripts can rely on them). The one mechanism
/// for that in ByzSim's files; decoding accepts `null` or an absent key.
@propertyWrapper
public struct Nullable<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
  public var wrappedValue: Value?

  public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    if let v = wrappedValue { try c.encode(v) } else { try c.encodeNil() }
  }
}

extension KeyedDecodingContainer {
  /// An absent key decodes as nil (files written before the key existed).
  public func decode<Value>(_ type: Nullable<Value>.Type, forKey key: Key) throws -> Nullable<Value> {
    try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
  }
}
