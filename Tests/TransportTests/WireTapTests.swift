import Foundation
import TestSupport
import Testing
@testable import Transport

@Suite(.serialized) struct WireTapTests {
  /// A hand-built ZMTP 3.0 stream: greeting (NULL), a READY command, a two-part message, a
  /// long frame; fed one byte at a time.
  @Test func parserSplitsAHandBuiltStream() {
    var greeting = [UInt8](repeating: 0, count: 64)
    greeting[0] = 0xFF; greeting[9] = 0x7F; greeting[10] = 3; greeting[11] = 0
    for (i, b) in "NULL".utf8.enumerated() { greeting[12 + i] = b }
    var stream = greeting
    stream += [0x04, 5] + Array("READY".utf8)  // command
    stream += [0x01, 3] + Array("abc".utf8) + [0x00, 2] + Array("de".utf8)  // message of 2 frames
    stream += [0x02, 0, 0, 0, 0, 0, 0, 1, 44] + [UInt8](repeating: 7, count: 300)  // long frame
    var p = ZMTPStreamParser()
    var messages: [[[UInt8]]] = []
    for b in stream { messages += [b].withUnsafeBytes { p.feed($0) } }
    #expect(p.mechanism == "NULL")
    #expect(p.commands == 1)
    #expect(messages.count == 2)
    #expect(messages[0] == [Array("abc".utf8), Array("de".utf8)])
    #expect(messages[1] == [[UInt8](repeating: 7, count: 300)])

    var bad = ZMTPStreamParser()
    _ = [UInt8](repeating: 0x41, count: 80).withUnsafeBytes { bad.feed($0) }
    #expect(bad.malformed != nil)
    var huge = ZMTPStreamParser(maxFrame: 100)
    _ = (greeting + [0x02, 0, 0, 0, 0, 0, 0, 1, 44]).withUnsafeBytes { huge.feed($0) }
    #expect(huge.malformed != nil)
  }

  /// Real ZeroMQ peers through the tap: in clear the eavesdropper reads every message; with
  /// CURVE it reads none, while the peers still talk.
  @Test(arguments: [false, true])
  func tapSeesPlaintextOnlyWithoutCurve(curve: Bool) throws {
    let dir = Scratch.directory("byzsim-wiretap").path
    let real = "ipc://\(dir)/byzsim-real-\(UUID().uuidString.prefix(8)).sock"
    let parser = ParserBox()
    let tap = try WireTap(listen: "ipc://\(dir)/byzsim-tap-\(UUID().uuidString.prefix(8)).sock", upstream: real) { id, bytes in
      parser.feed(id, bytes)
    }
    tap.start()
    defer { tap.stop() }
    let context = try Context()
    let router = try Socket(context, .router)
    let dealer = try Socket(context, .dealer)
    if curve {
      let server = try CurveKeyPair.generate(), client = try CurveKeyPair.generate()
      try router.makeCurveServer(server)
      try dealer.makeCurveClient(client, serverKey: server.publicKey)
    }
    try router.bind(real)
    try dealer.connect(tap.endpoint)
    try router.setReceiveTimeout(milliseconds: 5000)
    try dealer.setReceiveTimeout(milliseconds: 5000)
    for k in 0..<3 { try dealer.send([Array("secret-\(k)".utf8), [UInt8](repeating: UInt8(k), count: 1000)]) }
    for k in 0..<3 {
      let m = try #require(try router.receive())
      #expect(m[1].bytes == Array("secret-\(k)".utf8))
    }
    usleep(100_000)
    let seen = parser.messages
    if curve {
      #expect(seen.isEmpty)
      #expect(parser.mechanism == "CURVE")
      #expect(parser.encrypted >= 3)
    } else {
      #expect(seen.map { $0[0] } == (0..<3).map { Array("secret-\($0)".utf8) })
      #expect(parser.mechanism == "NULL")
    }
  }
}

final class ParserBox: @unchecked Sendable {
  let lock = NSLock()
  var parsers: [Int: ZMTPStreamParser] = [:]
  var seen: [[[UInt8]]] = []
  func feed(_ id: Int, _ bytes: UnsafeRawBufferPointer) {
    lock.lock(); defer { lock.unlock() }
    var p = parsers[id] ?? ZMTPStreamParser()
    seen += p.feed(bytes)
    parsers[id] = p
  }
  var messages: [[[UInt8]]] { lock.lock(); defer { lock.unlock() }; return seen }
  var mechanism: String? { lock.lock(); defer { lock.unlock() }; return parsers.values.first?.mechanism }
  var encrypted: Int { lock.lock(); defer { lock.unlock() }; return parsers.values.reduce(0) { $0 + $1.encrypted } }
}
