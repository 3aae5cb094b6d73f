import Foundation

/// A live status line on stderr: rewritten in place on a terminal (at most 10 times a
/// second), silent between `finish` lines otherwise, so logs stay readable.
final class ProgressLine {
  private let interactive = isatty(STDERR_FILENO) != 0
  private var lastDraw = ContinuousClock.now - .seconds(1)
  private var width = 0

  /// Redraws the line (throttled unless `force`).
  func update(_ text: String, force: Bool = false) {
    guard interactive else { return }
    let now = ContinuousClock.now
    guard force || now - lastDraw >= .milliseconds(100) else { return }
    lastDraw = now
    let pad = max(0, width - text.count)
    write("\r" + text + String(repeating: " ", count: pad))
    width = text.count
  }

  /// Replaces the live line with a permanent one.
  func finish(_ text: String) {
    if interactive {
      let pad = max(0, width - text.count)
      write("\r" + text + String(repeating: " ", count: pad) + "\n")
      width = 0
    } else {
      write(text + "\n")
    }
  }

  /// A permanent line (no live line pending).
  func note(_ text: String) { finish(text) }

  private func write(_ s: String) {
    FileHandle.standardError.write(Data(s.utf8))
  }
}

/// The pace shown on `byzsim run`'s live line: the running mean of the rounds' own times (the
/// figure summary.json reports as ms_per_round, not the last round's), the wall time since the
/// command started, and the ETA from the wall-clock rate of the rounds seen so far (eval, logs
/// and checkpoints included), which needs two rounds.
struct RunPace {
  let rounds: Int
  private(set) var meanMs = 0.0
  private(set) var count = 0
  private(set) var elapsed = 0.0
  private(set) var eta: Double?
  private var first: (round: Int, at: Double)?
  private let start = ContinuousClock.now

  init(rounds: Int) { self.rounds = rounds }

  mutating func record(round: Int, ms: Double) {
    let d = ContinuousClock.now - start
    record(round: round, ms: ms, elapsed: Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
  }

  /// `round`: numbered from 1, as metrics.jsonl does; `elapsed`: seconds since the command started.
  mutating func record(round: Int, ms: Double, elapsed: Double) {
    count += 1
    meanMs += (ms - meanMs) / Double(count)
    self.elapsed = elapsed
    guard let first else {
      self.first = (round, elapsed)
      return
    }
    let done = round - first.round
    eta = done > 0 ? (elapsed - first.at) / Double(done) * Double(max(0, rounds - round)) : nil
  }

  var text: String {
    "mean \(String(format: "%.1f", meanMs)) ms/round  elapsed \(Self.clock(elapsed))  ETA \(eta.map(Self.clock) ?? "-")"
  }

  /// 0:07, 12:05, 1:02:09.
  static func clock(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600
      ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
  }
}
