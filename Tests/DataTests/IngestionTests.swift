import Foundation
import Testing
@testable import Data
@testable import Tensor

@Suite struct IngestionTests {
  @Test(arguments: [false, true])
  func readsPlainAndGzipIDX(compressed: Bool) throws {
    let dir = Fixtures.temporaryDirectory()
    Fixtures.tinySplit(in: dir, prefix: "train")
    if compressed {
      for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"] {
        let plain = dir.appendingPathComponent(name)
        _ = Fixtures.gzip(plain)
        try FileManager.default.removeItem(at: plain)
      }
    }
    let loaded = try FashionMNIST.load(.train, directory: dir.path)
    let d = loaded.dataset
    #expect(d.count == 4)
    #expect(d.shape == ImageShape(height: 3, width: 2, channels: 1))
    #expect(d.labels == [3, 0, 9, 1])
    // pixel k of the file is 5k (mod 256), scaled to [0, 1] by /255
    #expect(d.features[1] == Float(5) / 255 && d.features[23] == Float(115) / 255)
    #expect(d.features.allSatisfy { $0 >= 0 && $0 <= 1 })
    // Digests of the files as stored, checked against coreutils' sha256sum.
    #expect(loaded.files.count == 2)
    for f in loaded.files {
      let expected = Fixtures.run("/usr/bin/sha256sum", [f.path]).split(separator: " ")[0]
      #expect(f.sha256 == String(expected))
    }
  }

  func loadError(_ mutate: (URL) throws -> Void) throws -> DataError? {
    let dir = Fixtures.temporaryDirectory()
    Fixtures.tinySplit(in: dir, prefix: "t10k")
    try mutate(dir)
    do {
      _ = try FashionMNIST.load(.test, directory: dir.path)
      return nil
    } catch let e as DataError {
      return e
    }
  }

  @Test func truncatedFileIsNamed() throws {
    let e = try loadError { dir in
      let url = dir.appendingPathComponent("t10k-images-idx3-ubyte")
      let bytes = [UInt8](try Data(contentsOf: url))
      Fixtures.write(Array(bytes.dropLast(5)), to: url)
    }
    guard case let .truncated(path, expected, found)? = e else { Issue.record("got \(String(describing: e))"); return }
    #expect(path.hasSuffix("t10k-images-idx3-ubyte") && expected == 16 + 24 && found == 35)
    #expect(e!.description.contains("t10k-images-idx3-ubyte") && e!.description.contains("truncated"))
  }

  @Test func wrongMagicIsNamed() throws {
    // A labels file where images are expected: rank 1 instead of 3.
    let e = try loadError { dir in
      try FileManager.default.removeItem(at: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
      try FileManager.default.copyItem(
        at: dir.appendingPathComponent("t10k-labels-idx1-ubyte"),
        to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
    }
    #expect(
      e
        == .badMagic(
          path: e.flatMap { if case let .badMagic(p, _, _) = $0 { p } else { nil } } ?? "?",
          expected: "00 00 08 03", found: "00 00 08 01"))
  }

  @Test func countMismatchIsNamed() throws {
    let e = try loadError { dir in
      Fixtures.write(Fixtures.idx(dims: [3], payload: [1, 2, 3]), to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }
    guard case let .countMismatch(_, images, _, labels)? = e else { Issue.record("got \(String(describing: e))"); return }
    #expect(images == 4 && labels == 3)
  }

  @Test func labelOutOfRangeIsNamed() throws {
    let e = try loadError { dir in
      Fixtures.write(Fixtures.idx(dims: [4], payload: [1, 2, 10, 3]), to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }
    guard case let .labelOutOfRange(_, index, label, classes)? = e else { Issue.record("got \(String(describing: e))"); return }
    #expect(index == 2 && label == 10 && classes == 10)
  }

  @Test func trailingBytesAreRejected() throws {
    let e = try loadError { dir in
      Fixtures.write(Fixtures.idx(dims: [4], payload: [1, 2, 3, 4, 5]), to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }
    guard case .trailingBytes? = e else { Issue.record("got \(String(describing: e))"); return }
  }

  @Test func truncatedAndCorruptGzipAreRejected() throws {
    for corruption in ["truncate", "garble"] {
      let e = try loadError { dir in
        let plain = dir.appendingPathComponent("t10k-images-idx3-ubyte")
        let gz = Fixtures.gzip(plain)
        try FileManager.default.removeItem(at: plain)
        var bytes = [UInt8](try Data(contentsOf: gz))
        if corruption == "truncate" {
          bytes = Array(bytes.prefix(bytes.count / 2))
        } else {
          // Past the 10-byte header and the stored file name: inside the deflate data.
          for i in (bytes.count / 2)..<(bytes.count / 2 + 6) { bytes[i] ^= 0x5a }
        }
        Fixtures.write(bytes, to: gz)
      }
      guard case let .gzip(path, _)? = e else { Issue.record("\(corruption): got \(String(describing: e))"); continue }
      #expect(path.hasSuffix("t10k-images-idx3-ubyte.gz"))
    }
  }

  @Test func emptyAndHeaderOnlyFilesAreRejected() throws {
    let e = try loadError { dir in Fixtures.write([], to: dir.appendingPathComponent("t10k-images-idx3-ubyte")) }
    guard case .truncated? = e else { Issue.record("got \(String(describing: e))"); return }
    let huge = try loadError { dir in
      // Header promising 2³¹ images: truncated, not an allocation of gigabytes.
      Fixtures.write(Fixtures.idx(dims: [0x7fff_ffff, 28, 28], payload: []), to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
    }
    #expect(huge != nil)
  }

  @Test func missingDirectoryIsExplained() {
    #expect(throws: DataError.self) { try FashionMNIST.load(.train, directory: "/nonexistent/byzsim") }
    do {
      _ = try FashionMNIST.load(.train, directory: "/nonexistent/byzsim")
    } catch {
      #expect("\(error)".contains("--data-dir") && "\(error)".contains("does not exist"))
    }
  }

  /// The real dataset, when Debian's dataset-fashion-mnist is installed (make test installs it):
  /// 60,000 / 10,000 samples of 28×28, 6,000 / 1,000 per class (Xiao et al. 2017).
  @Test(.enabled(if: FileManager.default.fileExists(atPath: FashionMNIST.defaultDirectory)))
  func realFashionMNIST() throws {
    let train = try FashionMNIST.load(.train)
    let test = try FashionMNIST.load(.test)
    #expect(train.dataset.count == 60_000 && test.dataset.count == 10_000)
    #expect(train.dataset.shape == ImageShape(height: 28, width: 28, channels: 1))
    #expect(train.dataset.labelHistogram == [Int](repeating: 6_000, count: 10))
    #expect(test.dataset.labelHistogram == [Int](repeating: 1_000, count: 10))
  }

  @Test func subsetAndDigest() {
    let d = Dataset(features: [0, 1, 2, 3, 4, 5], labels: [0, 1, 2], shape: ImageShape(height: 1, width: 2, channels: 1), classes: 3)
    let s = d.subset([2, 0])
    #expect(s.features == [4, 5, 0, 1] && s.labels == [2, 0])
    #expect(Provenance.digest(of: d) == Provenance.digest(of: d.subset([0, 1, 2])))
    #expect(Provenance.digest(of: d) != Provenance.digest(of: s))
  }
}
