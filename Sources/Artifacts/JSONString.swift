/// JSON string literals, built as UTF-8 bytes: the quote, the backslash and the control
/// characters escaped (`\n`, `\r`, `\t` by name, the rest as `\u00xx`), everything else as is.
/// The one escaper of the files and lines ByzSim writes by hand: safetensors headers, signing
/// statements, the request log and the commands' JSON lines.
public enum JSONString {
  /// Appends `s` as a JSON string literal to `out`.
  public static func append(_ s: String, to out: inout [UInt8]) {
    out.append(0x22)
    for c in s.utf8 {
      switch c {
      case 0x22: out.append(contentsOf: [0x5c, 0x22])
      case 0x5c: out.append(contentsOf: [0x5c, 0x5c])
      case 0x0a: out.append(contentsOf: [0x5c, 0x6e])
      case 0x0d: out.append(contentsOf: [0x5c, 0x72])
      case 0x09: out.append(contentsOf: [0x5c, 0x74])
      case ..<0x20: out.append(contentsOf: [0x5c, 0x75, 0x30, 0x30, hexDigit(c >> 4), hexDigit(c & 15)])
      default: out.append(c)
      }
    }
    out.append(0x22)
  }

  /// `s` as a JSON string literal.
  public static func quoted(_ s: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 2)
    append(s, to: &out)
    return String(decoding: out, as: UTF8.self)
  }

  @inline(__always) static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }
}
