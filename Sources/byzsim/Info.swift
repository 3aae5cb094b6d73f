import ArgumentParser
import Data
import Foundation
import Runtime
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
  @Flag(
    help:
      "Also check that freed large blocks stay in the heap: allocate, fill and free 48 MiB six times and print the page faults of each round, then the same in threads mode (which maps such blocks)."
  )
  var heap = false

  func run() throws {
    print("byzsim \(ByzSim.configuration.version)")
    print("libzmq \(Context.libraryVersion) (CURVE: \(Context.hasCurve ? "yes" : "no"))")
    print("OpenBLAS \(BLAS.configuration) (threads: \(BLAS.threads))")
    let present = FashionMNIST.Split.allCases.allSatisfy { split in
      (try? FashionMNIST.locate("\(split == .train ? "train" : "t10k")-labels-idx1-ubyte", in: data.dataDir)) != nil
    }
    print("data \(data.dataDir) (\(present ? "found" : "missing: apt-get install dataset-fashion-mnist"))")
    if heap {
      // On the main thread (a synchronous command), in glibc's main arena, as a role's rounds.
      print("heap: large-block settings \(HeapReuse.enable() ? "taken" : "NOT taken")")
      let kept = HeapReuse.faultsOfReusedBlocks()
      let reused = kept.dropFirst().allSatisfy { $0 >= 0 && $0 < 1_000 }
      print("heap: freed 48 MiB blocks \(reused ? "are reused" : "are NOT reused") (page faults by round: \(Self.list(kept)))")
      // Threads mode maps such blocks one by one: every round faults on every page.
      let taken = HeapReuse.threadsMode()
      print("heap: threads mode \(taken ? "taken" : "NOT taken") (page faults by round: \(Self.list(HeapReuse.faultsOfReusedBlocks())))")
    }
  }

  static func list(_ faults: [Int]) -> String { faults.map(String.init).joined(separator: ", ") }
}
