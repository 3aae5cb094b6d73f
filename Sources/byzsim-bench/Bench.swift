import ArgumentParser
import Learning

extension ModelKind: ExpressibleByArgument {}

@main
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "byzsim-bench",
    abstract: "ByzSim performance figures (release builds only; not run by the tests).",
    subcommands: [
      TrainBench.self, WireBench.self, AggregateBench.self, ArtifactsBench.self, ScanBench.self, ServeBench.self, DPBench.self,
      SecureAggregationBench.self,
      IngestionBench.self, ClientsBench.self,
    ])
}
