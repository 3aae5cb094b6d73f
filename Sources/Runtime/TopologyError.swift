/// A topology mistake: names the file, the line, the key, what was expected and what was found.
public struct TopologyError: Error, Equatable, CustomStringConvertible {
  public let file: String
  public let line: Int
  public let key: String
  public let message: String

  public init(file: String, line: Int, key: String, message: String) {
    self.file = file; self.line = line; self.key = key; self.message = message
  }

  public var description: String {
    // Line 0: the error is about the file as a whole (unreadable, its data), not one line.
    let place = line > 0 ? "\(file):\(line)" : file
    return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
  }
}
