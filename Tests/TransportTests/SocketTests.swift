import Foundation
import TestSupport
import Testing
@testable import Transport

@Suite(.serialized) struct SocketTests {
  @Test(arguments: ["inproc", "ipc", "tcp"])
  func routerDealerMultipartRoundTrip(transport: String) throws {
    let context = try Context()
    let router = try Socket(context, .router)
    let endpoint: String
    switch transport {
    case "inproc": endpoint = "inproc://roundtrip"
    case "ipc": endpoint = "ipc://" + Scratch.directory("byzsim-ipc").appendingPathComponent("s.sock").path
    default: endpoint = "tcp://127.0.0.1:*"
    }
    try router.bind(endpoint)
    let dealer = try Socket(context, .dealer)
    try dealer.setRoutingID(Array("w7".utf8))
    try dealer.connect(transport == "tcp" ? router.lastEndpoint : endpoint)
    try router.setReceiveTimeout(milliseconds: 5000)
    try dealer.setReceiveTimeout(milliseconds: 5000)

    let floats = FloatBuffer([1.5, -2, 3.25])
    try dealer.send([.bytes(Array("hdr".utf8)), .floats(floats)])
    let got = try #require(try router.receive())
    #expect(got.count == 3)
    #expect(got[0].bytes == Array("w7".utf8))
    #expect(got[1].bytes == Array("hdr".utf8))
    #expect(got[2].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } == [1.5, -2, 3.25])

    try router.send([Array("w7".utf8), Array("reply".utf8)])
    let back = try #require(try dealer.receive())
    #expect(back.map(\.bytes) == [Array("reply".utf8)])
    #expect(try dealer.receive(dontWait: true) == nil)
  }

  /// A zero-copy buffer stays alive while libzmq holds it and is released afterwards.
  @Test func zeroCopyBufferIsReleased() throws {
    weak var weakBuffer: FloatBuffer?
    do {
      let context = try Context()
      let pull = try Socket(context, .pull)
      try pull.bind("inproc://zc")
      let push = try Socket(context, .push)
      try push.connect("inproc://zc")
      do {
        let buffer = FloatBuffer([Float](repeating: 4, count: 1000))
        weakBuffer = buffer
        try push.send([.floats(buffer)])
      }
      try pull.setReceiveTimeout(milliseconds: 5000)
      let m = try #require(try pull.receive())
      #expect(m[0].count == 4000)
      // inproc passes the same memory: the receiver sees the sender's buffer.
      #expect(m[0].withUnsafeBytes { $0.load(fromByteOffset: 3996, as: Float.self) } == 4)
    }
    #expect(weakBuffer == nil)
  }

  @Test func errorsKeepErrnoAndFunction() throws {
    let context = try Context()
    let s = try Socket(context, .router)
    do {
      try s.bind("nonsense://x")
      Issue.record("bind to a bad endpoint succeeded")
    } catch let e as ZMQError {
      #expect(e.function.contains("zmq_bind") && e.code != 0 && !e.isWouldBlock)
    }
  }

  @Test func shutdownWakesABlockedReceiveWithETERM() throws {
    let context = try Context()
    let result = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var terminated = false
    let t = Thread {
      do {
        let s = try Socket(context, .pull)
        try s.bind("inproc://blocked")
        _ = try s.receive()
      } catch let e as ZMQError {
        terminated = e.isTerminated
      } catch {}
      result.signal()
    }
    t.start()
    usleep(100_000)
    context.shutdown()
    #expect(result.wait(timeout: .now() + 5) == .success)
    #expect(terminated)
  }

  @Test func curveKeysRoundTripThroughZ85() throws {
    let k = try CurveKeyPair.generate()
    #expect(k.publicKey.count == 40 && k.secretKey.count == 40)
    #expect(CurveKeyPair(secretKey: k.secretKey)?.publicKey == k.publicKey)
    let raw = try #require(CurveKeyPair.decode(k.publicKey))
    #expect(CurveKeyPair.encode(raw) == k.publicKey)
    #expect(CurveKeyPair(secretKey: "not a key") == nil)
    #expect(CurveKeyPair.decode(String(repeating: "~", count: 40)) == nil)  // "~" is not in the Z85 alphabet
    #expect(CurveKeyPair.decode(String(k.publicKey.dropLast())) == nil)
  }

  /// Only listed keys get in, and each admitted connection carries its bound user id.
  @Test func zapAdmitsListedKeysAndBindsUserIDs() throws {
    let context = try Context()
    let server = try CurveKeyPair.generate(), alice = try CurveKeyPair.generate(), mallory = try CurveKeyPair.generate()
    let zap = try ZAPHandler(context: context, allowed: [alice.publicKey: "3"])
    let router = try Socket(context, .router)
    try router.makeCurveServer(server)
    try router.bind("tcp://127.0.0.1:*")
    try router.setReceiveTimeout(milliseconds: 1500)

    let good = try Socket(context, .dealer)
    try good.makeCurveClient(alice, serverKey: server.publicKey)
    try good.connect(router.lastEndpoint)
    try good.send([Array("hi".utf8)])
    let m = try #require(try router.receive())
    #expect(m[1].bytes == Array("hi".utf8))
    #expect(m[1].property("User-Id") == "3")

    let bad = try Socket(context, .dealer)
    try bad.makeCurveClient(mallory, serverKey: server.publicKey)
    try bad.connect(router.lastEndpoint)
    try bad.send([Array("let me in".utf8)], dontWait: true)
    #expect(try router.receive() == nil)
    #expect(zap.refusals.count >= 1 && zap.refusals[0].publicKey == mallory.publicKey)
    #expect(zap.accepted == 1)
    context.shutdown()
  }
}
