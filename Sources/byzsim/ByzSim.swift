import ArgumentParser
import Runtime

@main
struct ByzSim: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "byzsim",
    abstract: "Distributed-training simulator with adversarial participants.",
    version: "0.1.0",
    subcommands: [
      Run.self, Validate.self, Sweep.self, ReportCommand.self, Reproduce.self, Aggregate.self, Train.self, Prepare.self, Export.self,
      Keygen.self, Sign.self, Verify.self, ScanCommand.self, Predict.self, Tamper.self, Serve.self, AuditServing.self, DPCommand.self,
      DriftCommand.self, AttackCommand.self, WatermarkCommand.self, TrafficCommand.self, InspectDataCommand.self, Attest.self,
      AuditDeps.self, SBOMCommand.self, LaunchCommand.self,
      Info.self,
      RoleCommand.self, CoordinatorCommand.self, WorkerCommand.self, HubCommand.self,
    ])

  /// ArgumentParser's entry point, except that a failure caused by an interrupt (a child it
  /// stopped) waits for the interrupt handler's message and exit status 130.
  static func main() async {
    NativeBLAS.reexecIfGeneric()
    HeapReuse.enable()
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? any AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      Interrupts.waitIfStopping()
      exit(withError: error)
    }
  }
}
