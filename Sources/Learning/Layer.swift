import Tensor

/// One layer of a `Network`: a forward/backward pair over a batch, whose parameters
/// are a view into the network's single contiguous parameter vector.
///
/// Shapes are per sample: the layer maps (B, inputSize) to (B, outputSize).
/// Layers may keep scratch space from `forward` for `backward` (im2col columns,
/// pooling winners), so a layer instance belongs to one network used by one thread.
public protocol Layer: AnyObject {
  /// A short human-readable description, e.g. "dense 784→100".
  var summary: String { get }
  var inputSize: Int { get }
  var outputSize: Int { get }
  var parameterCount: Int { get }
  /// Floating-point operations per sample of `forward` (multiply-add = 2).
  var forwardFLOPs: Int { get }
  /// Floating-point operations per sample of `backward`, with or without the input gradient.
  func backwardFLOPs(needsInputGradient: Bool) -> Int

  /// Floats of memory one sample touches in this layer (activations plus scratch such as
  /// im2col columns); the network sizes its micro-batches from it to stay in cache.
  var workspacePerSample: Int { get }

  /// Writes this layer's initial parameters (deterministic from `rng`).
  func initialize(_ parameters: UnsafeMutableBufferPointer<Float>, rng: inout RandomStream)

  /// y = f(x).   x is (batch, inputSize), y is (batch, outputSize).
  func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, parameters: UnsafePointer<Float>)

  /// Given dy = dL/dy, writes dL/dparameters into `gradients` — overwriting, or with
  /// `accumulate` adding to what is there (micro-batches summing into one gradient); skipped
  /// when nil — and, if `dx` is non-nil, dL/dx (always overwritten). Must follow a `forward`
  /// on the same x with the same batch.
  func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?, accumulate: Bool)

  /// Adds to `norms[i]` the squared L2 norm of sample i's own gradient of this layer's
  /// parameters, given dy whose row i is that sample's output gradient (DP-SGD's clipping;
  /// nothing for a layer without parameters). Must follow a `forward` on the same x.
  func addPerSampleSquaredNorms(
    input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, into norms: UnsafeMutablePointer<Double>)

  /// A layer of the same shape with scratch of its own (a network replica for another thread).
  func replica() -> any Layer
}

extension Layer {
  public var workspacePerSample: Int { inputSize + outputSize }

  /// `backward` overwriting the parameter gradients.
  public func backward(
    input x: UnsafePointer<Float>, output y: UnsafePointer<Float>,
    outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?,
    batch: Int, parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>?
  ) {
    backward(
      input: x, output: y, outputGradient: dy, inputGradient: dx, batch: batch, parameters: parameters, gradients: gradients,
      accumulate: false)
  }
}

/// A growable scratch buffer owned by a layer or network (never shrinks; uninitialised floats).
final class Scratch {
  private(set) var pointer: UnsafeMutablePointer<Float>
  private(set) var capacity: Int

  init() {
    capacity = 0
    pointer = .allocate(capacity: 1)
  }

  /// A pointer to at least `count` floats (reallocated if needed; old contents are lost).
  func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacity {
      pointer.deallocate()
      pointer = .allocate(capacity: count)
      capacity = count
    }
    return pointer
  }

  deinit { pointer.deallocate() }
}

/// PyTorch's default initialisation for linear and convolution layers:
/// weights and biases ~ U(−1/√fanIn, 1/√fanIn).
func uniformInit(_ p: UnsafeMutableBufferPointer<Float>, fanIn: Int, rng: inout RandomStream) {
  let bound = 1 / Float(fanIn).squareRoot()
  for i in p.indices { p[i] = (rng.nextFloat() * 2 - 1) * bound }
}
