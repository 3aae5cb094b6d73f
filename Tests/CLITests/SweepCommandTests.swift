import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite(.serialized) struct SweepCommandTests {
  /// A scratch directory holding a small base topology (`base.toml`, CURVE off) and the sweep
  /// file `text` beside it; returns the directory and the sweep file's path.
  static func sweepFiles(rounds: Int, workers: Int, _ text: String) throws -> (dir: URL, sweep: String) {
    let dir = CLI.temporaryDirectory()
    try RunCommandTests.topology(rounds: rounds, workers: workers, curve: false).write(
      to: dir.appendingPathComponent("base.toml"), atomically: true, encoding: .utf8)
    let sweep = dir.appendingPathComponent("s.sweep.toml").path
    try text.write(toFile: sweep, atomically: true, encoding: .utf8)
    return (dir, sweep)
  }

  @Test func sweepRunsSummarisesAndResumes() throws {
    let (dir, sweep) = try Self.sweepFiles(
      rounds: 3, workers: 3,
      """
      name = "mini"
      base = "base.toml"
      seeds = [1, 2]
      [grid]
      "coordinator.aggregator" = ["mean", "median"]
      """)
    let sweeps = dir.appendingPathComponent("sweeps").path
    let dry = try CLI.run(["sweep", sweep, "--dry-run"])
    #expect(dry.status == 0 && dry.stdout.contains("2 cells × 2 seeds = 4 runs"))
    let r = try CLI.run(["sweep", sweep, "--sweeps-dir", sweeps, "--jobs", "2"])
    #expect(r.status == 0, "\(r.stderr)")
    let sweepDir = sweeps + "/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: sweeps).first))
    let csv = try String(contentsOfFile: sweepDir + "/summary.csv", encoding: .utf8).split(separator: "\n")
    #expect(csv.count == 3)
    #expect(csv[0].hasPrefix("cell,coordinator.aggregator,seeds,accuracy_mean,accuracy_ci95"))
    #expect(csv[1].hasPrefix("c001,mean,2,"))
    let fields = csv[2].split(separator: ",", omittingEmptySubsequences: false)
    #expect(Double(fields[3]) != nil && Double(fields[4]) != nil)  // accuracy mean and CI over 2 seeds
    // Cells with the same seed share their shards: one inode, linked from both cells and the
    // sweep's store; cells with different seeds do not.
    func inode(_ p: String) throws -> (UInt64, Int) {
      let a = try FileManager.default.attributesOfItem(atPath: sweepDir + "/" + p)
      return ((a[.systemFileNumber] as! NSNumber).uint64Value, (a[.referenceCount] as! NSNumber).intValue)
    }
    let s1 = try inode("cells/c001-s1/shards/worker-0.bin"), s1b = try inode("cells/c002-s1/shards/worker-0.bin")
    #expect(s1.0 == s1b.0 && s1.1 == 3)
    #expect(try inode("cells/c001-s2/shards/worker-0.bin").0 != s1.0)
    let stored = try FileManager.default.contentsOfDirectory(atPath: sweepDir + "/shards").filter { $0.hasSuffix(".bin") }
    #expect(stored.count == 6, "\(stored)")  // 3 workers × 2 seeds
    // Resume: finished runs are kept; a damaged one is redone.
    let kept = sweepDir + "/cells/c001-s1/model.bin"
    let before = try FileManager.default.attributesOfItem(atPath: kept)[.modificationDate] as! Date
    try FileManager.default.removeItem(atPath: sweepDir + "/cells/c002-s2/summary.json")
    let again = try CLI.run(["sweep", "--resume", sweepDir])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(again.stderr.contains("4/4 runs done"))
    #expect(try FileManager.default.attributesOfItem(atPath: kept)[.modificationDate] as! Date == before)
    #expect(FileManager.default.fileExists(atPath: sweepDir + "/cells/c002-s2/summary.json"))
    // A directory that is not a sweep is said plainly (no NSCocoaErrorDomain).
    let notSweep = try CLI.run(["sweep", "--resume", sweepDir + "/cells"])
    #expect(notSweep.status != 0 && notSweep.stderr.contains("is \(sweepDir)/cells a sweep directory"), "\(notSweep.stderr)")

    // Report: SVG figures and self-contained HTML/Markdown from the files alone.
    let rep = try CLI.run(["report", sweepDir])
    #expect(rep.status == 0, "\(rep.stderr)")
    for f in ["accuracy.svg", "loss.svg", "heatmap-accuracy.svg", "report.html", "report.md"] {
      #expect(FileManager.default.fileExists(atPath: sweepDir + "/" + f), "missing \(f)")
    }
    // The key of the cells, in full: id, the cell in words and the grid values as written.
    let page = try String(contentsOfFile: sweepDir + "/report.html", encoding: .utf8)
    #expect(page.contains("<h2>Cells</h2>") && page.contains("<tr><td>c001</td>"), "\(page.prefix(400))")
    let mdKey = try String(contentsOfFile: sweepDir + "/report.md", encoding: .utf8)
    #expect(mdKey.contains("## Cells") && mdKey.contains("| c002 |"))
    // Loss over rounds: one mean line per cell, on an axis fitted to the data (not 0–1).
    let lossSVG = try String(contentsOfFile: sweepDir + "/loss.svg", encoding: .utf8)
    #expect(lossSVG.split(separator: "\n").filter { $0.hasPrefix("<polyline") }.count == 2)
    #expect(lossSVG.contains(">test loss<"))
    // Against a baseline cell: differences on a diverging scale (c001 against itself is +0.000).
    let vs = try CLI.run(["report", sweepDir, "--baseline", "c001"])
    #expect(vs.status == 0, "\(vs.stderr)")
    let diff = try String(contentsOfFile: sweepDir + "/heatmap-accuracy-vs-baseline.svg", encoding: .utf8)
    #expect(diff.contains(">+0.000<") && diff.contains("accuracy − c001"), "\(diff)")
    let unknownCell = try CLI.run(["report", sweepDir, "--baseline", "c099"])
    #expect(unknownCell.status != 0 && unknownCell.stderr.contains("--baseline c099: no such cell in sweep"), "\(unknownCell.stderr)")
    let onARun = try CLI.run(["report", sweepDir + "/cells/c001-s1", "--baseline", "c001"])
    #expect(onARun.status != 0 && onARun.stderr.contains("is not a sweep directory"), "\(onARun.stderr)")
    let heat = try String(contentsOfFile: sweepDir + "/heatmap-accuracy.svg", encoding: .utf8)
    let c001 = csv[1].split(separator: ",", omittingEmptySubsequences: false)
    #expect(heat.hasPrefix("<svg") && heat.contains(String(format: "%.3f", Double(c001[3])!)))
    let html = try String(contentsOfFile: sweepDir + "/report.html", encoding: .utf8)
    #expect(html.contains("<svg") && html.contains("summary.csv") && !html.contains("src=\"http"))
    #expect(try XMLDocument(xmlString: heat).rootElement()?.name == "svg")
    let single = try CLI.run(["report", sweepDir + "/cells/c001-s1"])
    #expect(single.status == 0 && FileManager.default.fileExists(atPath: sweepDir + "/cells/c001-s1/accuracy.svg"))
    let bad = try CLI.run(["report", dir.path])
    #expect(bad.status != 0 && bad.stderr.contains("neither a run directory"))
  }

  /// `byzsim report` on experiments/monitoring's results.csv (written here by hand): the damage
  /// heatmap shows flipped-before-alert / source images (30/200 = 0.150; never alerted: all 50/200
  /// = 0.250), the delay heatmap the delays and the false alarm's prediction; a short line is an error.
  @Test func monitoringResultsAreDrawn() throws {
    let dir = CLI.temporaryDirectory().path
    try """
    detector,window,scenario,first_alert,detection_delay,false_alarm,source_requests,flipped,flipped_before_first_alert,strength_at_first_alert,accuracy_after
    ks,100,none,1234,,True,,,,,0.8672
    ks,100,morph,650,150,False,200,60,30,0.5,0.8365
    ks,100,slow-drift,,,,200,50,50,0.4,0.8400

    """.write(toFile: dir + "/results.csv", atomically: true, encoding: .utf8)
    let r = try CLI.run(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let damage = try String(contentsOfFile: dir + "/heatmap-damage.svg", encoding: .utf8)
    #expect(damage.contains(">0.150<") && damage.contains(">0.250<") && damage.contains("ks · window 100"), "\(damage)")
    let delay = try String(contentsOfFile: dir + "/heatmap-delay.svg", encoding: .utf8)
    #expect(delay.contains(">1234<") && delay.contains(">150<") && delay.contains(">–<"), "\(delay)")
    #expect(try XMLDocument(xmlString: delay).rootElement()?.name == "svg")
    #expect(FileManager.default.fileExists(atPath: dir + "/report.html"))
    try
      "detector,window,scenario,first_alert,detection_delay,false_alarm,source_requests,flipped,flipped_before_first_alert,strength_at_first_alert,accuracy_after\nks,100\n"
      .write(toFile: dir + "/results.csv", atomically: true, encoding: .utf8)
    let bad = try CLI.run(["report", dir])
    #expect(bad.status != 0 && bad.stderr.contains("line 2 has 2 fields"), "\(bad.stderr)")
    // online.sh's table: flipped / source images per defence and attacker share (142/247 = 0.575).
    let online = CLI.temporaryDirectory().path
    try """
    defence,share,poison_labels,retrains,source_requests,flipped,accuracy_after,flagged_sources,excluded_labels
    mean,0,0,14,247,24,0.8680,-,0
    mean,0.5,1269,21,247,142,0.8216,-,0

    """.write(toFile: online + "/online.csv", atomically: true, encoding: .utf8)
    #expect(try CLI.run(["report", online]).status == 0)
    let poisoning = try String(contentsOfFile: online + "/heatmap-online-poisoning.svg", encoding: .utf8)
    #expect(poisoning.contains(">0.575<") && poisoning.contains(">0.097<") && poisoning.contains("attacker share 0.5"), "\(poisoning)")
  }

  /// `byzsim report` on experiments/inference's four tables (written here by hand): the robust
  /// accuracy plot has a tick and a marker per ε and a line per model, the fidelity plot a
  /// log-spaced budget axis, equation solving a cell per policy (– where it failed), the
  /// watermark bars the matches with their p-values, the leakage heatmap the leaked bits per
  /// policy · auditor and budget; headless Chromium loads the report.
  @Test func inferenceResultsAreDrawn() throws {
    let dir = CLI.temporaryDirectory().path
    let tables = [
      "evasion.csv": """
      model,method,eps,clean_accuracy,robust_accuracy
      standard,pgd,0,0.806,0.806
      standard,pgd,0.05,0.806,0.491
      standard,pgd,0.1,0.806,0.163
      adversarial training ε 0.1,pgd,0,0.735,0.735
      adversarial training ε 0.1,pgd,0.05,0.735,0.655
      adversarial training ε 0.1,pgd,0.1,0.735,0.557
      """,
      "extraction.csv": """
      target,policy,method,strategy,budget,answered,stopped,fidelity,accuracy
      logreg,full,equations,-,785,785,,1.0,0.8203
      logreg,label,equations,-,785,,failed,,
      mlp,full,learning,indist,100,100,budget,0.6065,0.5581
      mlp,full,learning,indist,1000,1000,budget,0.8329,0.759
      """,
      "watermark.csv": """
      model,matches,triggers,p_value,verified,test_accuracy
      owner's model,99,100,9.01e-98,true,0.8448
      trained without the mark,10,100,0.5487,false,0.8536
      """,
      "leakage.csv": """
      policy,budget,audit,answered,stopped,flagged_at,bits,bits_recovered,leaked_bits,label_accuracy
      label,none,none,100,,,300,231,157.6297,0.77
      label,25,none,25,budget,,300,60,42.915,0.2
      label,none,refuse,64,refused,64,300,141,90.8275,0.47
      """,
    ]
    for (name, text) in tables { try (text + "\n").write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
    let r = try CLI.run(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    func svg(_ name: String) throws -> String {
      let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
      #expect(try XMLDocument(xmlString: text).rootElement()?.name == "svg")
      return text
    }
    let evasion = try svg("inference-evasion-pgd.svg")
    #expect(evasion.contains(">0.05<") && evasion.contains(">0.1<") && evasion.contains("adversarial training ε 0.1"))
    #expect(evasion.components(separatedBy: "<circle").count - 1 == 6 && evasion.components(separatedBy: "<polyline").count - 1 == 2)
    let fidelity = try svg("inference-extraction-fidelity.svg")
    #expect(fidelity.contains(">100<") && fidelity.contains(">1000<") && fidelity.contains("mlp · full · indist"))
    let equations = try svg("inference-extraction-equations.svg")
    #expect(equations.contains(">1.000<") && equations.contains(">–<"), "\(equations)")
    let marks = try svg("inference-watermark.svg")
    #expect(marks.contains(">99<") && marks.contains("owner's model · p=9e-98") && marks.contains(">chance<"), "\(marks)")
    let leak = try svg("inference-leakage.svg")
    #expect(leak.contains(">158<") && leak.contains(">43<") && leak.contains(">91<") && leak.contains("label · auditor refuse"), "\(leak)")
    let page = try Chromium.dumpDOM("file://" + dir + "/report.html", dir: CLI.temporaryDirectory().path)
    #expect(page.contains("watermark survival") && page.contains("leaked bits"), "\(page.prefix(500))")
    try "model,method,eps,clean_accuracy,robust_accuracy\nstandard,pgd\n".write(
      toFile: dir + "/evasion.csv", atomically: true, encoding: .utf8)
    let bad = try CLI.run(["report", dir])
    #expect(bad.status != 0 && bad.stderr.contains("evasion.csv: line 2 has 2 fields"), "\(bad.stderr)")
  }

  /// `byzsim report` on experiments/ingestion's ingestion.csv (by hand): F1 per detector and
  /// attack · rate, accuracy per training set, attack success only for targeted attacks.
  @Test func ingestionResultsAreDrawn() throws {
    let dir = CLI.temporaryDirectory().path
    try """
    attack,rate,set,flagged,precision,recall,f1,test_accuracy,attack_success
    backdoor,0.05,clean,,,,,0.825,0.002
    backdoor,0.05,poisoned,,,,,0.803,0.982
    backdoor,0.05,clustering,1412,0.341,0.964,0.504,0.811,0.021
    label_flip,0.1,clean,,,,,0.825,
    label_flip,0.1,poisoned,,,,,0.824,
    label_flip,0.1,clustering,768,0.908,0.697,0.788,0.823,

    """.write(toFile: dir + "/ingestion.csv", atomically: true, encoding: .utf8)
    let r = try CLI.run(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let f1 = try String(contentsOfFile: dir + "/heatmap-ingestion-f1.svg", encoding: .utf8)
    #expect(f1.contains(">0.504<") && f1.contains(">0.788<") && f1.contains("backdoor 0.05") && f1.contains(">clustering<"), "\(f1)")
    let success = try String(contentsOfFile: dir + "/heatmap-ingestion-attack-success.svg", encoding: .utf8)
    #expect(success.contains(">0.982<") && success.contains(">0.021<") && !success.contains("label_flip"), "\(success)")
    let accuracy = try String(contentsOfFile: dir + "/heatmap-ingestion-accuracy.svg", encoding: .utf8)
    #expect(accuracy.contains("sanitised by clustering") && accuracy.contains(">0.823<"))
  }

  /// `byzsim report` on experiments/privacy's tables (by hand): membership AUC against σ with
  /// each column's ε, and per output policy; gradient-leakage PSNR per setting and batch size;
  /// the secure-aggregation runs' accuracy as bars.
  @Test func privacyResultsAreDrawn() throws {
    let dir = CLI.temporaryDirectory().path
    try """
    sigma,epsilon,policy,target_test_accuracy,attack,auc,tpr_at_fpr_0.01
    none,,full,0.784,lira-online,0.638,0.05
    1,6.9736,full,0.647,lira-online,0.531,0.02
    none,,label,0.784,lira-online,0.597,0.03

    """.write(toFile: dir + "/membership.csv", atomically: true, encoding: .utf8)
    try """
    setting,batch_size,psnr_median,exact,label_recall
    plain,1,159.86,20,1.0
    dp,1,7.79,0,0.55

    """.write(toFile: dir + "/leakage.csv", atomically: true, encoding: .utf8)
    try """
    setting,aggregator,secure_aggregation,attackers,test_accuracy,ms_per_round,leakage_exact,leakage_psnr_median
    attacked-mean-secure,mean,true,2,0.1,20.5,,
    attacked-median,median,false,2,0.712,12.1,,

    """.write(toFile: dir + "/secure-aggregation.csv", atomically: true, encoding: .utf8)
    let drawn = "<svg xmlns=\"http://www.w3.org/2000/svg\"><title>read by dlg</title></svg>\n"
    try drawn.write(toFile: dir + "/leakage-dlg.svg", atomically: true, encoding: .utf8)
    let r = try CLI.run(["report", dir])
    #expect(r.status == 0, "\(r.stderr)")
    let dp = try String(contentsOfFile: dir + "/heatmap-membership-dp.svg", encoding: .utf8)
    #expect(dp.contains(">0.638<") && dp.contains(">0.531<") && dp.contains("σ 1 (ε 6.97)") && dp.contains("no DP"), "\(dp)")
    let policy = try String(contentsOfFile: dir + "/heatmap-membership-policy.svg", encoding: .utf8)
    #expect(policy.contains(">0.597<") && policy.contains(">label<"))
    let leak = try String(contentsOfFile: dir + "/heatmap-gradient-leakage.svg", encoding: .utf8)
    #expect(leak.contains(">159.9<") && leak.contains(">7.8<") && leak.contains("batch 1"), "\(leak)")
    let bars = try String(contentsOfFile: dir + "/bars-secure-aggregation.svg", encoding: .utf8)
    #expect(bars.contains("attacked-mean-secure (mean, secure)") && bars.contains(">0.712<") && bars.contains(">0.100<"), "\(bars)")
    // The command's reconstructions are shown in the report, and left as they were.
    let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
    #expect(html.contains("read by dlg") && html.contains("Gradient leakage (dlg)"))
    #expect(try String(contentsOfFile: dir + "/leakage-dlg.svg", encoding: .utf8) == drawn)
  }
}
