/// The end of a run: what the coordinator measured, completed with what only evaluation may
/// read — detection quality against the ground truth (truth.json, never read by the
/// coordinator or its auditors) and each covert channel's receiver — written once to
/// summary.json, its one writer.
public enum RunEvaluation {
  public static func complete(_ run: RunDirectory, measured: RunSummary, mode: String) throws -> RunSummary {
    var s = measured
    s.mode = mode
    s.detection = try DetectionReport.evaluate(run)
    s.covert = try CovertReport.evaluate(run)
    s.gradientLeakage = try CuriousReport.evaluate(run)
    try run.writeJSON(s, to: run.summaryFile)
    return s
  }
}
