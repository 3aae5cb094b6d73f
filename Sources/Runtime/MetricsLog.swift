import Foundation

/// metrics.jsonl, appended one whole line per round by its one writer (the coordinator).
///
/// A line is written with write(2) on an O_APPEND descriptor; if the write fails part-way
/// (ENOSPC, EDQUOT, EIO…) the file is truncated back to its last whole line and the error says
/// so, with the command that resumes once the cause is fixed: the run directory stays
/// consistent (the checkpoint is written only after its round's line).
final class MetricsLog {
  let path: String
  private let fd: Int32
  private var size: off_t

  init(path: String) throws {
    self.path = path
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileFormatError(path: path, message: "cannot open for appending (\(Files.errnoText()))") }
    size = lseek(fd, 0, SEEK_END)
  }

  deinit { close(fd) }

  /// Appends `line` and a newline, whole or not at all.
  func append(_ line: [UInt8], resumeHint: String) throws {
    let bytes = line + [0x0A]
    var written = 0
    let failure: Int32? = bytes.withUnsafeBytes { buf in
      while written < buf.count {
        let n = write(fd, buf.baseAddress! + written, buf.count - written)
        if n < 0 {
          if errno == EINTR { continue }
          return errno
        }
        written += n
      }
      return nil
    }
    if let code = failure {
      let undone = ftruncate(fd, size) == 0
      throw RuntimeError(
        "\(path): cannot append the round's metrics (\(Files.errnoText(code)))\(undone ? "; the partial line was removed" : ""). "
          + "The run stopped at its last checkpoint; fix the cause (free disk space, permissions) and resume with: \(resumeHint)")
    }
    size += off_t(bytes.count)
  }
}
