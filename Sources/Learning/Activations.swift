import Tensor

/// Rectified linear unit, y = max(x, 0). No parameters.
public final class ReLU: Layer {
  public let inputSize: Int
  public init(size: Int) { inputSize = size }
  public func replica() -> any Layer { ReLU(size: inputSize) }
  public var summary: String { "relu" }
  public var outputSize: Int { inputSize }
  public var parameterCount: Int { 0 }
  public var forwardFLOPs: Int { inputSize }
  public func backwardFLOPs(needsInputGradient: Bool) -> Int { needsInputGradient ? inputSize : 0 }
  public func initialize(_ parameters: UnsafeMutableBufferPointer<Float>, rng: inout RandomStream) {}
  public func addPerSampleSquaredNorms(
    input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, into norms: UnsafeMutablePointer<Double>
  ) {}

  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, parameters: UnsafePointer<Float>) {
    Kernels.relu(x, y, count: batch * inputSize)
  }

  public func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?, accumulate: Bool
  ) {
    if let dx { Kernels.reluBackward(output: y, dy, dx, count: batch * inputSize) }
  }
}

/// 2×2 max pooling with stride 2 over NHWC images (odd edges dropped). No parameters.
public final class MaxPool2D: Layer {
  public let height: Int, width: Int, channels: Int
  private var winners: UnsafeMutablePointer<Int32> = .allocate(capacity: 1)
  private var winnerCapacity = 0

  public init(height: Int, width: Int, channels: Int) {
    precondition(height >= 2 && width >= 2, "max pool 2×2 needs an image of at least 2×2: got \(height)×\(width)")
    self.height = height; self.width = width; self.channels = channels
  }
  deinit { winners.deallocate() }
  public func replica() -> any Layer { MaxPool2D(height: height, width: width, channels: channels) }

  public var summary: String { "maxpool 2×2" }
  public var inputSize: Int { height * width * channels }
  public var outputSize: Int { (height / 2) * (width / 2) * channels }
  public var parameterCount: Int { 0 }
  public var forwardFLOPs: Int { 3 * outputSize }
  public func backwardFLOPs(needsInputGradient: Bool) -> Int { needsInputGradient ? outputSize : 0 }
  public func initialize(_ parameters: UnsafeMutableBufferPointer<Float>, rng: inout RandomStream) {}
  public func addPerSampleSquaredNorms(
    input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, into norms: UnsafeMutablePointer<Double>
  ) {}

  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, parameters: UnsafePointer<Float>) {
    let needed = batch * outputSize
    if needed > winnerCapacity {
      winners.deallocate()
      winners = .allocate(capacity: needed)
      winnerCapacity = needed
    }
    Kernels.maxPool2(x, batch: batch, height: height, width: width, channels: channels, y, argmax: winners)
  }

  public func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?, accumulate: Bool
  ) {
    guard let dx else { return }
    precondition(winnerCapacity >= batch * outputSize, "MaxPool2D.backward without a matching forward")
    Kernels.maxPool2Backward(dy, argmax: winners, outputCount: batch * outputSize, dx, inputCount: batch * inputSize)
  }
}
