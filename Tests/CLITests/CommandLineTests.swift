import Foundation
import TestSupport
import Testing

/// The command line a researcher scripts against: `--set`, `--seeds`, `--json` on run, sweep,
/// validate and reproduce, the live lines, errors that name the right place, and help texts
/// with examples.
@Suite(.serialized) struct CommandLineTests {
  static func json(_ r: CLI.Result) throws -> [String: Any] {
    try #require(r.json, "stdout is not one JSON object: \(r.stdout) / \(r.stderr)")
  }

  @Test func runSetOverridesKeysAndNamesTheOverrideInErrors() throws {
    let (file, runs) = RunCommandTests.write(RunCommandTests.topology(rounds: 7, workers: 2, curve: false))
    let r = try CLI.run([
      "run", file, "--runs-dir", runs, "--threads", "--json", "--set", "rounds=3", "--set", "coordinator.aggregator=median",
    ])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try Self.json(r)
    #expect(summary["rounds"] as? Int == 3)
    let dir = try #require(summary["run_dir"] as? String)
    let topology = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/topology.json"))) as? [String: Any])
    #expect("\(topology["coordinator"] ?? "")".contains("median"), "\(topology["coordinator"] ?? "")")
    // The live line's pace: a running mean, the elapsed time and an ETA (not the last round's time).
    #expect(r.stderr.contains("mean ") && r.stderr.contains(" ms/round  elapsed ") && r.stderr.contains("ETA"), "\(r.stderr)")

    let misspelt = try CLI.run(["run", file, "--runs-dir", runs, "--set", "coordinator.eval_evry=1"])
    #expect(misspelt.status != 0)
    #expect(misspelt.stderr.contains("--set coordinator.eval_evry=1: unknown key (did you mean eval_every?"), "\(misspelt.stderr)")
    let unknownRule = try CLI.run(["validate", file, "--set", "coordinator.aggregator=krumm"])
    #expect(
      unknownRule.stderr.contains("--set coordinator.aggregator=krumm: unknown name \"krumm\" (did you mean \"krum\"?)"),
      "\(unknownRule.stderr)")
    let typed = try CLI.run(["validate", file, "--set", "rounds=many"])
    #expect(typed.status != 0 && typed.stderr.contains("--set rounds=many: expected an integer"), "\(typed.stderr)")
    let noValue = try CLI.run(["validate", file, "--set", "rounds"])
    #expect(noValue.status != 0 && noValue.stderr.contains("--set rounds: expected KEY=VALUE"), "\(noValue.stderr)")
    let table = try CLI.run(["validate", file, "--set", "coordinator.aggregator={name = \"trimmed_mean\", f = 0}", "--json"])
    #expect(table.status == 0, "\(table.stderr)")
    let tooMany = try CLI.run(["validate", file, "--set", "coordinator.aggregator={name = \"trimmed_mean\", f = 1}"])
    #expect(
      tooMany.stderr.contains("--set coordinator.aggregator={name = \"trimmed_mean\", f = 1}: trimmed mean needs n > 2f"),
      "\(tooMany.stderr)")
    let resumed = try CLI.run(["run", "--resume", dir, "--set", "rounds=4"])
    #expect(resumed.status != 0 && resumed.stderr.contains("a resumed run keeps its own"), "\(resumed.stderr)")
  }

  @Test func validateJSONGivesEachFilesVerdict() throws {
    let (good, _) = RunCommandTests.write(RunCommandTests.topology(rounds: 4, workers: 3, curve: true))
    let (bad, _) = RunCommandTests.write(
      RunCommandTests.topology(rounds: 4, workers: 3, curve: true).replacingOccurrences(
        of: "eval_every", with: "eval_evry"))
    let r = try CLI.run(["validate", good, bad, "--json"])
    #expect(r.status == 1)
    let files = try #require(try Self.json(r)["files"] as? [[String: Any]])
    #expect(files.count == 2)
    #expect(files[0]["file"] as? String == good && files[0]["ok"] as? Bool == true && files[0]["workers"] as? Int == 3)
    #expect(files[0]["rounds"] as? Int == 4 && files[0]["curve"] as? Bool == true && files[0]["error"] is NSNull)
    #expect(files[1]["ok"] as? Bool == false && files[1]["workers"] is NSNull)
    #expect((files[1]["error"] as? String)?.contains("\(bad):13: coordinator.eval_evry: unknown key (did you mean eval_every?") == true)
  }

  @Test func sweepSeedsSetJSONAndFinishedRunLines() throws {
    let (dir, sweep) = try SweepCommandTests.sweepFiles(
      rounds: 9, workers: 2,
      """
      name = "cl"
      base = "base.toml"
      seeds = [1]
      [grid]
      "coordinator.aggregator" = ["mean", { name = "trimmed_mean", f = 0 }]
      """)
    let sweeps = dir.appendingPathComponent("sweeps").path
    let dry = try CLI.run(["sweep", sweep, "--seeds", "3..4", "--dry-run", "--json"])
    #expect(dry.status == 0, "\(dry.stderr)")
    let plan = try Self.json(dry)
    #expect(plan["runs"] as? Int == 4 && plan["seeds"] as? [Int] == [3, 4])
    let planned = try #require(plan["planned"] as? [[String: Any]])
    #expect((planned[0]["values"] as? [String: Any])?["coordinator.aggregator"] as? String == "mean")
    let table = try #require((planned[1]["values"] as? [String: Any])?["coordinator.aggregator"] as? [String: Any])
    #expect(table["name"] as? String == "trimmed_mean" && table["f"] as? Int == 0)

    let r = try CLI.run(["sweep", sweep, "--sweeps-dir", sweeps, "--seeds", "3,4", "--set", "rounds=2", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let out = try Self.json(r)
    let sweepDir = try #require(out["sweep_dir"] as? String)
    let cells = try #require(out["cells"] as? [[String: Any]])
    #expect(cells.count == 2 && cells.allSatisfy { $0["runs"] as? Int == 2 })
    #expect(cells.allSatisfy { $0["accuracy_mean"] is Double && $0["accuracy_ci95"] is Double && $0["attack_success_mean"] is NSNull })
    // Each finished run is reported with its result as it ends.
    for name in ["c001-s3", "c001-s4", "c002-s3", "c002-s4"] {
      #expect(r.stderr.contains("\(name) done in "), "\(r.stderr)")
    }
    #expect(r.stderr.contains("— accuracy 0."))
    for cell in ["c001-s3", "c002-s4"] {
      let summary = try #require(
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(sweepDir)/cells/\(cell)/summary.json")))
          as? [String: Any])
      #expect(summary["rounds"] as? Int == 2)
    }
    // Tidy data: results.csv (one row per run) and summary.csv (per cell) with the grid split into
    // plain columns, read by Python's csv module and filtered on plain values; cell.json per run.
    let check = try ReferencePython.run([
      "-c",
      """
      import csv, json, sys
      d = sys.argv[1]
      rows = list(csv.DictReader(open(d + '/results.csv')))
      assert len(rows) == 4, rows
      tm = [r for r in rows if r['coordinator.aggregator'] == 'trimmed_mean']
      assert [r['seed'] for r in tm] == ['3', '4'] and all(r['coordinator.aggregator.f'] == '0' for r in tm), tm
      mean = [r for r in rows if r['coordinator.aggregator'] == 'mean']
      assert len(mean) == 2 and all(r['coordinator.aggregator.f'] == '' for r in mean), mean
      assert all(r['rounds'] == '2' and 0 <= float(r['accuracy']) <= 1 and float(r['loss']) > 0 for r in rows), rows
      assert all(r['run_dir'] == 'cells/%s-s%s' % (r['cell'], r['seed']) for r in rows)
      summary = list(csv.DictReader(open(d + '/summary.csv')))
      assert [s['coordinator.aggregator'] for s in summary] == ['mean', 'trimmed_mean'], summary
      assert summary[1]['coordinator.aggregator.f'] == '0' and summary[1]['seeds'] == '2'
      acc = [float(r['accuracy']) for r in tm]
      assert abs(float(summary[1]['accuracy_mean']) - sum(acc) / 2) < 1e-5, (summary[1], acc)
      cell = json.load(open(d + '/cells/c002-s4/cell.json'))
      assert cell == {'sweep': 'cl', 'cell': 'c002', 'seed': 4,
                      'values': {'coordinator.aggregator': {'name': 'trimmed_mean', 'f': 0}},
                      'columns': {'coordinator.aggregator': 'trimmed_mean', 'coordinator.aggregator.f': 0}}, cell
      print('ok')
      """,
      sweepDir,
    ])
    #expect(check.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    // The report says what its bands are, and over how many seeds.
    let sd = try CLI.run(["report", sweepDir, "--band", "sd"])
    #expect(sd.status == 0, "\(sd.stderr)")
    let html = try String(contentsOfFile: sweepDir + "/report.html", encoding: .utf8)
    #expect(html.contains("band: ± one standard deviation, n = 2"), "\(html.prefix(2000))")
    #expect(html.contains("trimmed_mean f=0"))  // series and heatmap labels in words, not TOML
    // Laid out by a real browser: every label inside its figure, no two overlapping; a screenshot kept.
    let shot = sweepDir + "/report.png"
    let layout = try Chromium.layoutProblems(of: sweepDir + "/report.html", screenshot: shot, dir: CLI.temporaryDirectory().path)
    #expect(layout.problems.isEmpty, "\(layout.problems)")
    #expect(layout.texts > 20, "only \(layout.texts) text elements checked")
    #expect((try FileManager.default.attributesOfItem(atPath: shot)[.size] as? Int ?? 0) > 10_000)
    let badBand = try CLI.run(["report", sweepDir, "--band", "iqr"])
    #expect(badBand.status != 0 && badBand.stderr.contains("--band iqr: expected one of ci95, se, sd, none"), "\(badBand.stderr)")
    // --resume rebuilds the same cells from the recorded --set/--seeds (nothing left to run).
    let again = try CLI.run(["sweep", "--resume", sweepDir, "--json"])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(
      (try Self.json(again)["cells"] as? [[String: Any]])?.map { $0["accuracy_mean"] as? Double }
        == cells.map { $0["accuracy_mean"] as? Double })
    let refused = try CLI.run(["sweep", "--resume", sweepDir, "--seeds", "1"])
    #expect(refused.status != 0 && refused.stderr.contains("a resumed sweep keeps the ones it was started with"), "\(refused.stderr)")
    // A grid key cannot be overridden; bad seeds are said plainly.
    let gridKey = try CLI.run(["sweep", sweep, "--dry-run", "--set", "coordinator.aggregator=median"])
    #expect(gridKey.status != 0 && gridKey.stderr.contains("is a grid key of"), "\(gridKey.stderr)")
    let badSeeds = try CLI.run(["sweep", sweep, "--dry-run", "--seeds", "1,x"])
    #expect(badSeeds.status != 0 && badSeeds.stderr.contains("--seeds 1,x: expected seeds like 1,2,3"), "\(badSeeds.stderr)")
  }

  /// A grid value that is not a valid topology value is reported at its line of the sweep file,
  /// not at a line of the base topology.
  @Test func gridErrorsNameTheSweepFileAndLine() throws {
    let (_, sweep) = try SweepCommandTests.sweepFiles(
      rounds: 2, workers: 2,
      """
      name = "g"
      base = "base.toml"
      [set]
      "coordinator.eval_evry" = 1
      [grid]
      "coordinator.aggregator" = ["mean",
        "krumm"]
      """)
    let r = try CLI.run(["sweep", sweep, "--dry-run"])
    #expect(r.status != 0)
    #expect(r.stderr.contains("\(sweep):4: set.coordinator.eval_evry: unknown key (did you mean eval_every?"), "\(r.stderr)")
    try String(contentsOfFile: sweep, encoding: .utf8).replacingOccurrences(of: "eval_evry", with: "eval_every").write(
      toFile: sweep, atomically: true, encoding: .utf8)
    let g = try CLI.run(["sweep", sweep, "--dry-run"])
    #expect(g.status != 0)
    #expect(g.stderr.contains("\(sweep):7: grid.coordinator.aggregator: unknown name \"krumm\" (did you mean \"krum\"?)"), "\(g.stderr)")
    #expect(!g.stderr.contains("base.toml"), "\(g.stderr)")
  }

  /// Every subcommand's help, nested ones too, shows an example.
  @Test func everySubcommandHelpHasAnExample() throws {
    func subcommands(_ path: [String]) throws -> [String] {
      let help = try CLI.run(path + ["--help"])
      #expect(help.status == 0, "\(path): \(help.stderr)")
      guard let start = help.stdout.range(of: "SUBCOMMANDS:\n") else { return [] }
      // The section's lines up to the first blank one: "  name   abstract", continuations indented deeper.
      let section = help.stdout[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
      return section.compactMap { line in
        guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first else { return nil }
        return name == "help" ? nil : String(name)
      }
    }
    var queue: [[String]] = [[]]
    var seen = 0
    var missing: [String] = []
    while let path = queue.popLast(), path.count < 4 {
      for name in try subcommands(path) {
        let command = path + [name]
        queue.append(command)
        seen += 1
        let help = try CLI.run(command + ["--help"]).stdout
        if !help.contains("Example") { missing.append(command.joined(separator: " ")) }
      }
    }
    #expect(seen >= 30, "only \(seen) subcommands found")
    #expect(missing.isEmpty, "no example in the help of: \(missing.joined(separator: ", "))")
  }
}
