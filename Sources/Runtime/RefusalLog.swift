import Foundation
import Synchronization

/// Records refused connections and frames in events.log as they happen — not at the end of the
/// run, which a kill or a failed start never reaches — at most one line per (peer, reason) a
/// second; the lines in between are counted and the count rides on the next line, or on a
/// closing line from `flush()`. Thread-safe: the ZAP handler and the monitor call it from
/// their own threads.
final class RefusalLog: Sendable {
  private struct Entry {
    var lastLogged: ContinuousClock.Instant
    var suppressed = 0
    var total = 1
  }

  private let run: RunDirectory
  private let interval: Duration
  private let entries = Mutex<[String: Entry]>([:])

  init(run: RunDirectory, interval: Duration = .seconds(1)) {
    self.run = run
    self.interval = interval
  }

  /// One refusal: `peer` identifies who (an address, a key or a worker id), `what` says what
  /// was refused and why.
  func record(peer: String, what: String) {
    let key = peer + "\u{0}" + what
    let now = ContinuousClock.now
    let line: String? = entries.withLock { e in
      guard var entry = e[key] else {
        e[key] = Entry(lastLogged: now)
        return what
      }
      entry.total += 1
      defer { e[key] = entry }
      guard now - entry.lastLogged >= interval else {
        entry.suppressed += 1
        return nil
      }
      let more = entry.suppressed
      entry.suppressed = 0
      entry.lastLogged = now
      return more == 0 ? what : "\(what) (and \(more) more like it since the last line; \(entry.total) in all)"
    }
    if let line { run.logEvent(line) }
  }

  /// Writes the counts that no line has reported yet.
  func flush() {
    let pending = entries.withLock { e -> [(String, Int, Int)] in
      let out = e.filter { $0.value.suppressed > 0 }.map {
        (String($0.key.split(separator: "\u{0}").last ?? ""), $0.value.suppressed, $0.value.total)
      }
      for k in e.keys { e[k]?.suppressed = 0 }
      return out
    }
    for (what, more, total) in pending.sorted(by: { $0.0 < $1.0 }) {
      run.logEvent("\(what) (and \(more) more like it since the last line; \(total) in all)")
    }
  }
}
