import Testing

@testable import Serving

extension OneFrame {
  /// A request read from a whole frame's bytes (the door reads it from the message in place).
  static func request(_ frame: [UInt8]) -> Request? { frame.withUnsafeBytes { request($0) } }
}

/// The ZeroMQ door's one-frame form, on frames written out by hand.
@Suite struct OneFrameTests {
  func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

  @Test func aRequestIsTwoLinesThenTheBody() {
    // The body may hold line feeds of its own, or be empty.
    #expect(
      OneFrame.request(bytes("POST /v1/predict\napplication/json\n{\"input\":\n[1]}"))
        == OneFrame.Request(line: bytes("POST /v1/predict"), contentType: bytes("application/json"), body: bytes("{\"input\":\n[1]}")))
    #expect(
      OneFrame.request(bytes("GET /metrics\ntext/plain\n"))
        == OneFrame.Request(line: bytes("GET /metrics"), contentType: bytes("text/plain"), body: []))
    // An empty content type is the door's to judge, not the frame's.
    #expect(OneFrame.request(bytes("GET /healthz\n\n"))?.contentType == [])
  }

  @Test func aFrameWithoutItsTwoLinesIsRefused() {
    #expect(OneFrame.request([]) == nil)
    #expect(OneFrame.request(bytes("POST /v1/predict")) == nil)
    #expect(OneFrame.request(bytes("POST /v1/predict\napplication/json")) == nil)
    #expect(OneFrame.request(bytes("\napplication/json\n{}")) == nil, "an empty METHOD PATH line")
    let long = String(repeating: "a", count: OneFrame.maxLine + 1)
    #expect(OneFrame.request(bytes("POST /\(long)\napplication/json\n{}")) == nil)
    #expect(OneFrame.request(bytes("POST /v1/predict\n\(long)\n{}")) == nil)
    let exact = "POST /" + String(repeating: "a", count: OneFrame.maxLine - 6)
    #expect(OneFrame.request(bytes("\(exact)\ntext/plain\n"))?.line.count == OneFrame.maxLine, "a line of maxLine bytes")
  }

  @Test func aReplyIsThreeLinesThenTheBody() {
    #expect(
      OneFrame.reply(status: bytes("429"), contentType: bytes("text/plain"), body: bytes("slow down\n"), retryAfter: bytes("3"))
        == bytes("429\ntext/plain\n3\nslow down\n"))
    #expect(
      OneFrame.reply(status: bytes("200"), contentType: bytes("application/json"), body: [], retryAfter: [])
        == bytes("200\napplication/json\n\n"))
  }
}
