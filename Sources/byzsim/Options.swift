import ArgumentParser
import Learning
import Runtime
import Tensor

extension ModelKind: ExpressibleByArgument {}

/// Options every data-reading command shares.
struct DataOptions: ParsableArguments {
  @Option(name: .long, help: "Directory holding the Fashion-MNIST IDX files (plain or .gz).")
  var dataDir: String = "/usr/share/datasets/fashion-mnist"
}

/// Options of the BLAS runtime.
struct ComputeOptions: ParsableArguments {
  @Option(name: .long, help: "BLAS threads per process (1 when many processes share the cores).")
  var blasThreads: Int = 1

  func validate() throws {
    guard (1...64).contains(blasThreads) else {
      throw ValidationError("--blas-threads must be between 1 and 64: got \(blasThreads).")
    }
  }

  func apply() { BLAS.threads = blasThreads }
}

/// `--set KEY=VALUE` (repeatable), shared by run, validate and sweep.
struct OverrideOptions: ParsableArguments {
  @Option(
    name: .customLong("set"),
    help: ArgumentHelp(
      "Override a topology key (repeatable): KEY=VALUE, KEY a key path as in sweep grids (in a sweep, not a grid key), VALUE TOML or a bare word.",
      valueName: "key=value"))
  var overrides: [String] = []

  var isEmpty: Bool { overrides.isEmpty }

  func parsed() throws -> [TopologyOverride] { try overrides.map(TopologyOverride.init) }
}
