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
