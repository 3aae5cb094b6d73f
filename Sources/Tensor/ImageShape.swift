/// The shape of one input sample: an image in NHWC order (channels last).
public struct ImageShape: Sendable, Equatable, Codable, CustomStringConvertible {
  public var height: Int, width: Int, channels: Int
  public init(height: Int, width: Int, channels: Int) {
    self.height = height; self.width = width; self.channels = channels
  }
  public var size: Int { height * width * channels }
  public var description: String { "\(height)×\(width)×\(channels)" }
}
