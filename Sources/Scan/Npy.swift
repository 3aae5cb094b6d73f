/// NumPy's `.npy` header (numpy/lib/format.py, format versions 1.0–3.0): magic, version, header
/// length, a Python dict literal whose `descr` says whether the data is raw or a pickle.
enum Npy {
  struct Header {
    let descr: String
    let objectArray: Bool
    let dataOffset: Int
  }

  static func isNpy(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 6 && bytes[0] == 0x93 && String(decoding: bytes[1..<6], as: UTF8.self) == "NUMPY"
  }

  static func header(_ bytes: UnsafeRawBufferPointer, name: String) throws -> Header {
    guard bytes.count >= 10 else { throw ScanError.container("\(name): a .npy header shorter than 10 bytes") }
    let major = bytes[6]
    let lengthSize = major == 1 ? 2 : 4
    guard (1...3).contains(major), bytes.count >= 8 + lengthSize else {
      throw ScanError.container("\(name): .npy format version \(major).\(bytes[7]) is not 1, 2 or 3")
    }
    var length = 0
    for i in stride(from: 8 + lengthSize - 1, through: 8, by: -1) { length = length << 8 | Int(bytes[i]) }
    let start = 8 + lengthSize
    guard length <= bytes.count - start else { throw ScanError.container("\(name): the .npy header runs past the end of the file") }
    let text = String(decoding: bytes[start..<(start + length)], as: UTF8.self)
    guard let key = text.range(of: "'descr':") ?? text.range(of: "\"descr\":") else {
      throw ScanError.container("\(name): the .npy header has no 'descr'")
    }
    let rest = text[key.upperBound...].drop { $0 == " " }
    let descr: Substring
    if rest.first == "[" {
      // A structured dtype: up to the bracket that closes the list.
      var depth = 0
      var end = rest.startIndex
      for index in rest.indices {
        if rest[index] == "[" { depth += 1 }
        if rest[index] == "]" { depth -= 1 }
        if depth == 0 { end = index; break }
      }
      descr = rest[...end]
    } else {
      descr = rest.prefix { $0 != "," && $0 != "}" }
    }
    // Object if any quoted type string in the descr is 'O' (with its byte-order mark and size).
    let quoted = descr.split(separator: "'", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    let object = quoted.contains { s in
      let t = s.drop { "|<>=".contains($0) }
      return t.first == "O" && t.dropFirst().allSatisfy(\.isNumber)
    }
    return Header(descr: String(descr), objectArray: object, dataOffset: start + length)
  }
}

/// A POSIX tar archive (ustar): 512-byte headers, octal sizes, data padded to 512 bytes.
enum Tar {
  struct Member {
    let name: String
    let range: Range<Int>
  }

  static func isTar(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 512 && String(decoding: bytes[257..<262], as: UTF8.self) == "ustar"
  }

  static func members(_ bytes: UnsafeRawBufferPointer, limit: Int = 10_000) throws -> [Member] {
    var members: [Member] = []
    var at = 0
    while at + 512 <= bytes.count {
      let header = bytes[at..<(at + 512)]
      if header.allSatisfy({ $0 == 0 }) { break }
      let name = String(decoding: header.prefix(100).prefix { $0 != 0 }, as: UTF8.self)
      let sizeText = String(decoding: bytes[(at + 124)..<(at + 136)].prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
      guard let size = Int(sizeText.isEmpty ? "0" : sizeText, radix: 8), size >= 0 else {
        throw ScanError.container("tar member \(name): a size that is not octal")
      }
      let start = at + 512
      guard size <= bytes.count - start else { throw ScanError.container("tar member \(name) runs past the end of the file (truncated?)") }
      if bytes[at + 156] == 0 || bytes[at + 156] == UInt8(ascii: "0") { members.append(Member(name: name, range: start..<(start + size))) }
      guard members.count <= limit else { throw ScanError.container("a tar archive of over \(limit) members") }
      at = start + (size + 511) / 512 * 512
    }
    return members
  }
}
