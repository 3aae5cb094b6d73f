/// The shape of a 2-D convolution over NHWC images (stride 1, no padding, square or
/// rectangular kernel), and the im2col / col2im layout transforms that turn it into GEMMs.
///
/// Layouts:
/// - input x: (B, H, W, C)
/// - weights w: (OUT, KH, KW, C) — i.e. (OUT, K) with K = KH·KW·C
/// - columns: (B·OH·OW, K), one row per output pixel holding its receptive field
/// - output y: (B, OH, OW, OUT) = columns · wᵀ, i.e. (B·OH·OW, OUT)
public struct ConvGeometry: Sendable, Equatable {
  public let height: Int, width: Int, inChannels: Int
  public let kernelHeight: Int, kernelWidth: Int, outChannels: Int

  public init(height: Int, width: Int, inChannels: Int, kernelHeight: Int, kernelWidth: Int, outChannels: Int) {
    precondition(kernelHeight <= height && kernelWidth <= width, "kernel larger than the image")
    self.height = height; self.width = width; self.inChannels = inChannels
    self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth; self.outChannels = outChannels
  }

  public var outHeight: Int { height - kernelHeight + 1 }
  public var outWidth: Int { width - kernelWidth + 1 }
  /// Length of one im2col row: KH·KW·C.
  public var patchSize: Int { kernelHeight * kernelWidth * inChannels }
  public var inputSize: Int { height * width * inChannels }
  public var outputSize: Int { outHeight * outWidth * outChannels }
  public var weightCount: Int { outChannels * patchSize }

  /// columns[(b·OH + i)·OW + j, (ki·KW + kj)·C + c] = x[b, i+ki, j+kj, c].
  /// x is (B, H, W, C), columns is (B·OH·OW, KH·KW·C). Each (ki, kj) copies a contiguous run of C floats.
  public func im2col(_ x: UnsafePointer<Float>, batch: Int, into columns: UnsafeMutablePointer<Float>) {
    let c = inChannels, kw = kernelWidth, kh = kernelHeight
    let oh = outHeight, ow = outWidth, rowLength = patchSize
    let runLength = kw * c  // a kernel row is contiguous in NHWC
    for b in 0..<batch {
      let image = x + b * inputSize
      for i in 0..<oh {
        for j in 0..<ow {
          let dst = columns + ((b * oh + i) * ow + j) * rowLength
          for ki in 0..<kh {
            let src = image + ((i + ki) * width + j) * c
            (dst + ki * runLength).update(from: src, count: runLength)
          }
        }
      }
    }
  }

  /// The adjoint of `im2col`: dx[b, i+ki, j+kj, c] += dcolumns[...]. dx (B, H, W, C) is overwritten.
  public func col2im(_ columns: UnsafePointer<Float>, batch: Int, into dx: UnsafeMutablePointer<Float>) {
    let c = inChannels, kw = kernelWidth, kh = kernelHeight
    let oh = outHeight, ow = outWidth, rowLength = patchSize
    let runLength = kw * c
    dx.update(repeating: 0, count: batch * inputSize)
    for b in 0..<batch {
      let image = dx + b * inputSize
      for i in 0..<oh {
        for j in 0..<ow {
          let src = columns + ((b * oh + i) * ow + j) * rowLength
          for ki in 0..<kh {
            Kernels.add(src + ki * runLength, into: image + ((i + ki) * width + j) * c, count: runLength)
          }
        }
      }
    }
  }
}
