import Foundation
import Logging

/// The HTTP door's log handler: lines at the logger's level and above go to standard error.
/// Unlike swift-log's `StreamLogHandler`, which formats its whole metadata anew each time a key
/// is set, metadata is only stored until a line is written — Hummingbird sets a request id on
/// every request's logger, and re-formatting it cost 3% of a one-input prediction.
struct QuietLogHandler: LogHandler {
  let label: String
  var logLevel: Logger.Level = .warning
  var metadata: Logger.Metadata = [:]

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
    let fields = all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
    let line = "\(label): \(event.level): \(event.message)\(fields.isEmpty ? "" : " [\(fields)]")\n"
    FileHandle.standardError.write(Data(line.utf8))
  }
}
