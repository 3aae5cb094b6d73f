/// Everything that can be wrong with a dataset file, each case naming the file and what was
/// expected versus found. Never a crash: ingestion validates before it trusts a byte.
public enum DataError: Error, Equatable, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case gzip(path: String, reason: String)
  case truncated(path: String, expectedBytes: Int, foundBytes: Int)
  case badMagic(path: String, expected: String, found: String)
  case shapeMismatch(path: String, expected: String, found: String)
  case countMismatch(imagesPath: String, images: Int, labelsPath: String, labels: Int)
  case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
  case trailingBytes(path: String, expectedBytes: Int, foundBytes: Int)
  case invalidPartition(String)
  /// A CSV table's problem at a line (0: the file as a whole).
  case csv(path: String, line: Int, message: String)

  public var description: String {
    switch self {
    case let .unreadable(path, reason):
      return
        "\(path): cannot read the file (\(reason)). Check the path, or pass --data-dir to point at the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist)."
    case let .gzip(path, reason):
      return
        "\(path): not a valid gzip stream (\(reason)). The file is corrupt or truncated: reinstall it (apt-get install --reinstall dataset-fashion-mnist) or replace it."
    case let .truncated(path, expected, found):
      return "\(path): truncated IDX file: its header promises \(expected) bytes, found \(found). Replace the file with a complete copy."
    case let .badMagic(path, expected, found):
      return
        "\(path): wrong IDX magic number: expected \(expected), found \(found). Is this the right file (images vs labels), and an IDX file at all?"
    case let .shapeMismatch(path, expected, found):
      return "\(path): unexpected IDX shape: expected \(expected), found \(found)."
    case let .countMismatch(imagesPath, images, labelsPath, labels):
      return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels: the two files must come from the same split."
    case let .labelOutOfRange(path, index, label, classes):
      return "\(path): label \(label) at index \(index) is outside 0...\(classes - 1). The file is corrupt."
    case let .trailingBytes(path, expected, found):
      return
        "\(path): \(found - expected) unexpected bytes after the \(expected) bytes the IDX header describes. The file is corrupt or not the file you meant."
    case let .invalidPartition(message):
      return message
    case let .csv(path, line, message):
      return line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)"
    }
  }
}
