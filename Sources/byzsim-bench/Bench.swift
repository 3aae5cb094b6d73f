import ArgumentParser
@preconcurrency import Glibc
import Learning
import Runtime

extension ModelKind: ExpressibleByArgument {}

@main
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "byzsim-bench",
    abstract: "ByzSim performance figures (release builds only; not run by the tests).",
    subcommands: [
      TrainBench.self, WireBench.self, AggregateBench.self, ArtifactsBench.self, ScanBench.self, ServeBench.self, DPBench.self,
      SecureAggregationBench.self,
      IngestionBench.self, ClientsBench.self, AttackCellBench.self,
    ])

  /// OpenBLAS's kernels as `byzsim` runs with them (see `NativeBLAS`), then the command. Lines
  /// are written as they are printed, also into a pipe (`| tee`), since a bench runs for minutes.
  static func main() {
    setvbuf(stdout, nil, _IOLBF, 0)
    NativeBLAS.reexecIfGeneric()
    HeapReuse.enable()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
  }
}
