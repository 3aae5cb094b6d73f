import ArgumentParser

@main
struct ByzSim: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "byzsim",
    abstract: "Distributed-training simulator with adversarial participants.",
    version: "0.1.0",
    subcommands: [Run.self, Validate.self, Sweep.self, ReportCommand.self, Reproduce.self, Aggregate.self, Train.self, Prepare.self, CoordinatorCommand.self, WorkerCommand.self, HubCommand.self, Info.self])
}
