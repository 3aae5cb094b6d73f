import CZlib

/// gzip / zlib / raw deflate decompression through the system zlib.
public enum Gzip {
  /// The framing around the deflate stream.
  public enum Wrapper: Sendable {
    case gzip, zlib, raw
    var windowBits: Int32 {
      switch self {
      case .gzip: 15 + 16
      case .zlib: 15
      case .raw: -15
      }
    }
  }

  /// True if `bytes` starts with the gzip magic number 1f 8b.
  public static func isCompressed(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
  }

  /// Inflates a complete gzip (or zlib, or raw deflate) stream. Throws `DataError.gzip` (naming
  /// `path`) for a corrupt or truncated stream, or one that inflates beyond `limit` bytes (a
  /// decompression bomb).
  public static func inflate(_ input: [UInt8], path: String, wrapper: Wrapper = .gzip, limit: Int = 1 << 30) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit2_(&stream, wrapper.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw DataError.gzip(path: path, reason: "zlib could not start")
    }
    defer { inflateEnd(&stream) }
    var output = [UInt8]()
    output.reserveCapacity(min(limit, max(input.count * 4, 1 << 16)))
    let chunk = min(1 << 20, limit + 1)  // a small limit needs no 1 MB buffer
    var buffer = [UInt8](repeating: 0, count: chunk)
    var status: Int32 = Z_OK
    try input.withUnsafeBufferPointer { inBuf in
      stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
      stream.avail_in = UInt32(inBuf.count)
      repeat {
        try buffer.withUnsafeMutableBufferPointer { out in
          stream.next_out = out.baseAddress
          stream.avail_out = UInt32(chunk)
          status = CZlib.inflate(&stream, Z_NO_FLUSH)
          switch status {
          case Z_OK, Z_STREAM_END: break
          case Z_BUF_ERROR:
            throw DataError.gzip(path: path, reason: "the stream ends early after \(output.count) inflated bytes (truncated file)")
          default:
            let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw DataError.gzip(path: path, reason: message)
          }
          let produced = chunk - Int(stream.avail_out)
          if output.count + produced > limit {
            throw DataError.gzip(path: path, reason: "inflates to more than \(limit) bytes")
          }
          output.append(contentsOf: out[0..<produced])
        }
      } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
    }
    if status != Z_STREAM_END {
      throw DataError.gzip(path: path, reason: "the stream ends early after \(output.count) inflated bytes (truncated file)")
    }
    return output
  }
}
