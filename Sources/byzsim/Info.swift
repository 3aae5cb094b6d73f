import ArgumentParser
import Data
import Foundation
import Tensor
import Transport

/// `byzsim info`: versions of the native libraries and where the data is.
struct Info: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show library versions and the dataset location.",
    discussion: """
      Example:
        byzsim info
      """)
  @OptionGroup var data: DataOptions

  func run() throws {
    print("byzsim \(ByzSim.configuration.version)")
    print("libzmq \(Context.libraryVersion) (CURVE: \(Context.hasCurve ? "yes" : "no"))")
    print("OpenBLAS \(BLAS.configuration) (threads: \(BLAS.threads))")
    let present = FashionMNIST.Split.allCases.allSatisfy { split in
      (try? FashionMNIST.locate("\(split == .train ? "train" : "t10k")-labels-idx1-ubyte", in: data.dataDir)) != nil
    }
    print("data \(data.dataDir) (\(present ? "found" : "missing: apt-get install dataset-fashion-mnist"))")
  }
}
