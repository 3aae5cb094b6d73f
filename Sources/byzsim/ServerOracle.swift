import Foundation
import Serving

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A model behind `byzsim serve`, queried as an attacker would: batches of inputs to
/// `/v1/predict` with one token, the answers read as the probability vectors its output policy
/// shows (`OutputPolicy.observed(answer:)`). A rate limit (429 with Retry-After) is waited out; a
/// spent budget is used to its last prediction and then ends the queries, as does a refusal
/// (403: the query auditor); anything else is an error. Synchronous, for the attack commands.
final class ServerOracle {
  let base: URL
  let token: String?
  let classes: Int
  let batch: Int
  private(set) var answered = 0
  /// Why the server stopped answering ("budget", "refused"), if it did.
  private(set) var stopped: String?
  private(set) var waitedSeconds = 0.0
  private(set) var rateLimited = 0

  init(_ url: String, token: String?, classes: Int, batch: Int = 64) throws {
    guard url.hasPrefix("http://") || url.hasPrefix("https://"), let base = URL(string: url) else {
      throw UserError("a server target must be http://HOST:PORT: got \(url)")
    }
    self.base = base
    self.token = token
    self.classes = classes
    self.batch = batch
  }

  /// Answers for the first inputs of `x` (`n` of `d` values each): all of them unless the server
  /// stopped answering.
  func ask(_ x: [Float], _ n: Int, inputSize d: Int) throws -> [[Double]] {
    var out: [[Double]] = []
    var start = 0
    while start < n, stopped == nil {
      var count = min(batch, n - start)
      while true {
        let (status, body, retryAfter) = try post(Array(x[(start * d)..<((start + count) * d)]), d: d)
        if status == 200 {
          guard let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let outputs = json["outputs"] as? [[String: Any]], outputs.count == count
          else { throw UserError("\(base): an answer that is not byzsim serve's: \(String(decoding: body.prefix(200), as: UTF8.self))") }
          for o in outputs {
            guard let p = OutputPolicy.observed(answer: o, classes: classes) else {
              throw UserError("\(base): an output that is not byzsim serve's: \(o)")
            }
            out.append(p)
          }
          answered += count
          start += count
          break
        }
        let text = String(decoding: body, as: UTF8.self)
        if status == 429, text.contains("budget") {
          // "(N predictions left, M asked)": spend what is left, then stop.
          if let r = text.range(of: #"\((\d+) predictions left"#, options: .regularExpression),
            let left = Int(text[r].dropFirst().prefix { $0.isNumber }), left > 0, left < count
          {
            count = left
            continue
          }
          stopped = "budget"
          break
        }
        if status == 429 {
          rateLimited += 1
          let wait = Double(retryAfter ?? 1)
          waitedSeconds += wait
          Thread.sleep(forTimeInterval: wait)
          continue
        }
        if status == 403 {
          stopped = "refused"
          break
        }
        throw UserError("\(base)/v1/predict answered HTTP \(status): \(text)")
      }
    }
    return out
  }

  /// How the server treated the queries, as `--json` fields: "stopped" (null, "budget",
  /// "refused"), "rate_limited" (429s waited out) and "waited_seconds".
  var jsonFields: [(String, String)] {
    [
      ("stopped", stopped.map { "\"\($0)\"" } ?? "null"), ("rate_limited", "\(rateLimited)"),
      ("waited_seconds", "\(waitedSeconds)"),
    ]
  }

  func post(_ inputs: [Float], d: Int) throws -> (Int, Data, Int?) {
    var request = URLRequest(url: base.appendingPathComponent("v1/predict"))
    request.httpMethod = "POST"
    request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    request.httpBody = inputs.withUnsafeBufferPointer { Data(buffer: $0) }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: (Data?, URLResponse?, (any Error)?)
    URLSession.shared.dataTask(with: request) { data, response, error in
      result = (data, response, error)
      done.signal()
    }.resume()
    done.wait()
    if let error = result.2 { throw UserError("cannot reach \(base): \(error.localizedDescription)") }
    guard let http = result.1 as? HTTPURLResponse else { throw UserError("\(base): no HTTP answer") }
    return (http.statusCode, result.0 ?? Data(), (http.value(forHTTPHeaderField: "Retry-After")).flatMap(Int.init))
  }
}
