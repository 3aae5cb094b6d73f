import Aggregation
import Attacks
import Audit
import Covert
import Data
import Foundation
import Ingestion
import Learning
import Plugins
import TOML
import Tensor

extension Topology {
  /// Reads and validates a topology file. Every error is a `TopologyError`.
  public static func load(path: String) throws -> Topology {
    try decode(try readText(path: path), file: path)
  }

  /// A topology file's text; every error is a `TopologyError` naming the file.
  static func readText(path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
      let why = access(path, F_OK) != 0 ? "no such file" : access(path, R_OK) != 0 ? "permission denied" : "cannot read it"
      throw TopologyError(file: path, line: 0, key: "", message: "cannot read the file (\(why)); check the path")
    }
    guard let text = String(validating: data, as: UTF8.self) else {
      throw TopologyError(file: path, line: 0, key: "", message: "not UTF-8 text; a topology is a TOML text file")
    }
    return text
  }

  /// Parses and validates topology TOML text; `file` names it in errors.
  public static func decode(_ text: String, file: String) throws -> Topology {
    try decode(table: try parse(text, file: file), file: file)
  }

  /// Parses topology TOML text (errors as TopologyError naming the file and line).
  public static func parse(_ text: String, file: String) throws -> TOMLTable {
    do {
      return try TOML.parse(text)
    } catch let e as TOMLParseError {
      throw TopologyError(file: file, line: e.line, key: "", message: "not valid TOML: \(e.message)")
    }
  }

  /// Validates an already parsed topology (sweeps set grid values into the table first): one
  /// reader per table, then the checks that span tables.
  public static func decode(table root: TOMLTable, file: String) throws -> Topology {
    var top = TableReader(file: file, path: "", table: root, line: 1)
    let defaultName = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
    let name = try top.string("name", default: defaultName.isEmpty ? "run" : defaultName) { s in
      s.count <= 100 && s.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil
        ? nil : "at most 100 letters, digits, '.', '_' or '-' (it names the run directory)"
    }
    let seed = UInt64(try top.int("seed", default: 1) { $0 >= 0 ? nil : "a seed >= 0" })
    let rounds = try top.int("rounds", default: 100) { (1...Limits.rounds).contains($0) ? nil : "1 to \(Limits.rounds) rounds" }
    var d = try top.table("data")
    let data = try decodeData(&d)
    var m = try top.table("model")
    let model = try decodeModel(&m)
    var t = try top.table("training")
    let training = try decodeTraining(&t)
    var c = try top.table("coordinator")
    let coord = try decodeCoordinator(&c)
    let clients = try decodeClients(&top)
    let groups = try top.tableArray("workers")
    let workers = try groups.map { g in
      var g = g; return try decodeGroup(&g, rounds: rounds, limit: clients == nil ? Limits.workers : Limits.clients)
    }
    if workers.isEmpty {
      throw TopologyError(
        file: file, line: 1, key: "workers", message: "no worker groups: add at least one [[workers]] table with count = N")
    }
    let total = workers.reduce(0) { $0 + $1.count }  // each count <= Limits.clients: no overflow
    if let clients, total != clients.count {
      throw TopologyError(
        file: file, line: groups.last!.line, key: "workers",
        message: "with clients = \(clients.count) the [[workers]] groups count clients and must add up to \(clients.count): found \(total)")
    }
    if clients == nil, total > Limits.workers {
      throw TopologyError(
        file: file, line: groups.last!.line, key: "workers",
        message: "at most \(Limits.workers) workers in one run: found \(total) (for more, simulate them as logical clients: clients = N)")
    }

    var a = try top.table("audit")
    let audit = try decodeAudit(&a, auditors: coord.auditors)
    var s = try top.table("security")
    let curve = try s.bool("curve", default: true)
    let attestation = try s.string("attestation", default: "enforce") {
      AttestationMode(rawValue: $0) == nil ? "\"enforce\", \"observe\" or \"off\"" : nil
    }
    let allowlist = try s.optionalString("attestation_allowlist")
    try s.finish()
    try top.finish()

    var topology = Topology(
      name: name, seed: seed, rounds: rounds, data: data, model: model, training: training,
      coordinator: coord, workers: workers,
      security: SecuritySettings(curve: curve, attestation: AttestationMode(rawValue: attestation), attestationAllowlist: allowlist))
    topology.audit = audit
    topology.clients = clients
    try checkClients(topology, top: top, coordinator: c, data: d)
    try checkAcrossTables(topology, file: file, coordinator: c, data: d, model: m)
    return topology
  }

  /// `clients = N`, `clients_per_round = K`, `pool = P` (top level); nil without `clients`.
  static func decodeClients(_ top: inout TableReader) throws -> ClientSettings? {
    guard let n = try top.optionalInt("clients", { (1...Limits.clients).contains($0) ? nil : "1 to \(Limits.clients) clients" }) else {
      for key in ["clients_per_round", "pool"] where top.table[key] != nil {
        throw top.error(key, "\(key) needs clients = N (logical clients); without it every worker is a process")
      }
      return nil
    }
    let k = try top.int("clients_per_round", default: nil) { (1...n).contains($0) ? nil : "1 to clients (\(n)) clients per round" }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let most = min(Limits.pool, k)
    let pool = try top.int("pool", default: max(1, min(cores, k))) {
      (1...most).contains($0) ? nil : "1 to \(most) worker processes (no more than clients_per_round)"
    }
    return ClientSettings(count: n, perRound: k, pool: pool)
  }

  /// What logical clients do not support yet, each refused with its key.
  static func checkClients(_ t: Topology, top: TableReader, coordinator c: TableReader, data d: TableReader) throws {
    guard t.clients != nil else { return }
    func refuse(_ r: TableReader, _ key: String, _ why: String) throws -> Never {
      throw r.error(key, "not supported with logical clients (clients = N) yet: \(why)")
    }
    if t.coordinator.sampleFraction != 1 { try refuse(c, "sample_fraction", "clients_per_round draws each round's clients") }
    if t.coordinator.secureAggregation != nil { try refuse(c, "secure_aggregation", "run it with one process per worker") }
    if t.coordinator.curiousEvery != nil { try refuse(c, "curious", "run it with one process per worker") }
    if t.data.sanitize != nil { try refuse(d, "sanitize", "shards are drawn from the data set by each pool process") }
    for (g, group) in t.workers.enumerated() {
      if group.covert != nil {
        throw TopologyError(
          file: top.file, line: top.line, key: "workers[\(g)].covert",
          message: "not supported with logical clients (clients = N) yet: covert channels keep per-worker state and files")
      }
      if group.supplyChain != nil {
        throw TopologyError(
          file: top.file, line: top.line, key: "workers[\(g)].supply_chain",
          message: "not supported with logical clients (clients = N): a trojaned library is loaded into a process, not a client")
      }
    }
  }

  /// Secure aggregation hides every individual update from the coordinator: whatever needs to
  /// look at one (a robust rule, an auditor, the norm screen, DP-FedAvg's clipping, the omniscient
  /// leak) is refused with that reason.
  static func checkSecureAggregation(_ t: Topology, coordinator c: TableReader) throws {
    guard let sa = t.coordinator.secureAggregation else { return }
    let key = "secure_aggregation"
    func refuse(_ what: String) throws -> Never {
      throw c.error(key, "secure aggregation shows the coordinator only the sum of the round's updates, so \(what)")
    }
    if t.coordinator.aggregator.name != "mean" || !t.coordinator.preaggregators.isEmpty {
      try refuse(
        "a robust aggregator cannot inspect the masked updates: \(t.coordinator.aggregator)\(t.coordinator.preaggregators.isEmpty ? "" : " with pre-aggregators") needs each update, only aggregator = \"mean\" (the sample-weighted sum) works; choose one protection or the other"
      )
    }
    if !t.coordinator.auditors.isEmpty { try refuse("auditors have no update to score: remove auditors") }
    if t.coordinator.dp != nil {
      try refuse("DP-FedAvg cannot clip each update: put dp_* in [training] (DP-SGD in the workers) instead")
    }
    if t.coordinator.sanitizeMantissaBits != nil { try refuse("sanitize_mantissa_bits has no update to round: remove it") }
    if t.coordinator.maxUpdateNorm != 1e6 { try refuse("max_update_norm cannot be checked: remove it") }
    if t.leaksHonestUpdates {
      try refuse("an omniscient attacker's leak of honest updates has nothing to read: use knowledge = \"partial\" or no update attack")
    }
    if let th = sa.threshold, th > t.expectedParticipants {
      throw c.error(key, "threshold \(th) is more than the \(t.expectedParticipants) workers expected per round: no round could finish")
    }
    if t.expectedParticipants < 2 { throw c.error(key, "secure aggregation needs at least 2 participants per round") }
  }

  /// What spans tables: the aggregation chain against the round's updates, FLTrust's root data,
  /// the partition against the samples, the model against the image shape.
  static func checkAcrossTables(_ t: Topology, file: String, coordinator c: TableReader, data d: TableReader, model m: TableReader) throws {
    // DP-FedAvg bounds each update's influence on the *mean* by clip / participants; a robust
    // rule's output has another sensitivity, and pre-aggregators change the rows first.
    if t.coordinator.dp != nil, t.coordinator.aggregator.name != "mean" || !t.coordinator.preaggregators.isEmpty {
      throw c.error(
        "dp_noise_multiplier",
        "DP-FedAvg adds noise calibrated to the clipped mean's sensitivity (clip / participants); \(t.coordinator.aggregator.name)\(t.coordinator.preaggregators.isEmpty ? "" : " with pre-aggregators") has another sensitivity, so its guarantee would not hold: use aggregator = \"mean\" without preaggregators"
      )
    }
    try checkSecureAggregation(t, coordinator: c)
    // Gradient leakage reads a FedSGD gradient whose first layer is dense.
    if t.coordinator.curiousEvery != nil, t.training.localSteps != 1 || t.model.kind == .cnn {
      throw c.error(
        "curious",
        "the curious coordinator reads FedSGD gradients (local_steps = 1) of a model whose first layer is dense (logreg or mlp); this topology has local_steps = \(t.training.localSteps) and a \(t.model.kind.rawValue)"
      )
    }
    // The aggregation chain: names and parameters, then what it needs from a round.
    var pre: [any PreAggregator] = []
    do {
      pre = try t.coordinator.preaggregators.map { try AggregationRegistry.preaggregator($0.name, $0.params) }
    } catch let e as AggregationError {
      throw c.error("preaggregators", e.message)
    }
    let rule: any Aggregator
    do {
      rule = try AggregationRegistry.aggregator(t.coordinator.aggregator.name, t.coordinator.aggregator.params)
    } catch let e as AggregationError {
      throw c.error("aggregator", e.message)
    }
    let pipeline = AggregationPipeline(preaggregators: pre, aggregator: rule)
    if let why = pipeline.problem(n: t.expectedParticipants) {
      throw c.error(
        "aggregator",
        "\(why) (n = updates per round: \(t.workerCount) workers × sample_fraction \(t.coordinator.sampleFraction)). Lower f or add workers"
      )
    }
    if t.coordinator.aggregator.name == "fltrust", t.coordinator.rootDatasetSize < 1 {
      throw c.error(
        "aggregator", "FLTrust needs a clean root dataset held by the coordinator: set coordinator.root_dataset_size (e.g. 100)")
    }
    // Fashion-MNIST's shape is known without reading it; other data sets are checked against the
    // model and the partition when they are loaded (`validate` with the data present, `prepare`).
    guard t.data.dataset == DataSource.Kind.fashionMNIST.rawValue else { return }
    let available = (t.data.trainLimit ?? 60_000) - t.coordinator.rootDatasetSize
    if let problem = t.partitionProblem(classes: 10, count: available) {
      throw TopologyError(file: file, line: d.valueLine("partition"), key: "data.partition", message: problem)
    }
    if let problem = t.model.problem(input: ImageShape(height: 28, width: 28, channels: 1), classes: 10) {
      throw TopologyError(file: file, line: m.line, key: "model", message: problem)
    }
  }

  static func decodeData(_ d: inout TableReader) throws -> DataSettings {
    var data = DataSettings()
    data.dataset = try d.string("dataset", default: data.dataset) {
      Registry.datasets.contains($0) ? nil : "one of \(Registry.datasets.joined(separator: ", "))"
    }
    data.directory = try d.string("dir", default: data.directory) { $0.isEmpty || $0.utf8.contains(0) ? "a directory path" : nil }
    if data.dataset == "csv" {
      data.file = try d.string("file", default: nil) { $0.isEmpty || $0.utf8.contains(0) ? "the path of a CSV file" : nil }
      if case .string = d.table["label_column"]?.value {
        data.labelColumn = try d.string("label_column", default: nil) { $0.isEmpty ? "a column name from the header" : nil }
      } else {
        data.labelIndex = try d.optionalInt("label_column") { _ in nil }
      }
      data.testFraction = try d.double("test_fraction", default: 0.2) { $0 > 0 && $0 < 1 ? nil : "a share of the rows in (0, 1)" }
      data.splitSeed = UInt64(try d.int("split_seed", default: 0) { $0 >= 0 ? nil : "a non-negative integer" })
    }
    data.partition = try d.partition("partition")
    data.trainLimit = try d.optionalInt("train_limit") { (1...Limits.samples).contains($0) ? nil : "1 to \(Limits.samples) samples" }
    data.testLimit = try d.optionalInt("test_limit") { (1...Limits.samples).contains($0) ? nil : "1 to \(Limits.samples) samples" }
    data.longTail = try d.optionalDouble("long_tail") { $0 > 0 && $0 <= 1 ? nil : "a share β in (0, 1]: class i keeps βⁱ of its samples" }
    if d.table["sanitize"] != nil {
      var s = try d.table("sanitize")
      let names = Sanitizer.detectors
      let detectors = try s.stringArray("detectors") { names.contains($0) ? nil : "one of \(names.joined(separator: ", "))" }
      guard !detectors.isEmpty else { throw s.error("detectors", "name at least one detector: \(names.joined(separator: ", "))") }
      var settings = SanitizeSettings(detectors: detectors)
      settings.epsilon = try s.double("epsilon", default: settings.epsilon) { $0 > 0 && $0 <= 1 ? nil : "an assumed poison rate in (0, 1]" }
      settings.epochs = try s.int("epochs", default: settings.epochs) { (1...100).contains($0) ? nil : "1 to 100 epochs" }
      settings.folds = try s.int("folds", default: settings.folds) { (2...20).contains($0) ? nil : "2 to 20 folds" }
      settings.model = try s.string("model", default: settings.model) { ModelKind(rawValue: $0) == nil ? "logreg, mlp or cnn" : nil }
      try s.finish()
      data.sanitize = settings
    }
    try d.finish()
    return data
  }

  static func decodeModel(_ m: inout TableReader) throws -> ModelSpec {
    let kindName = try m.string("kind", default: "mlp") {
      ModelKind(rawValue: $0) == nil ? "one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))" : nil
    }
    let hidden = try m.intArray("hidden", default: [100]) {
      $0.isEmpty || $0.contains { $0 < 1 } ? "a list of positive layer widths, like [100]" : nil
    }
    let model = ModelSpec(kind: ModelKind(rawValue: kindName)!, hidden: hidden)
    try m.finish()
    return model
  }

  static func decodeTraining(_ t: inout TableReader) throws -> TrainingSettings {
    var training = TrainingSettings()
    training.batchSize = try t.int("batch_size", default: training.batchSize) {
      (1...Limits.batchSize).contains($0) ? nil : "a batch size from 1 to \(Limits.batchSize)"
    }
    training.learningRate = Float(
      try t.double("learning_rate", default: Double(training.learningRate)) {
        $0 > 0 && $0 <= Limits.rate ? nil : "a learning rate in (0, \(Limits.rate)]"
      })
    training.momentum = Float(
      try t.double("momentum", default: Double(training.momentum)) { $0 >= 0 && $0 < 1 ? nil : "a momentum in [0, 1)" })
    training.weightDecay = Float(try t.double("weight_decay", default: 0) { $0 >= 0 && $0 <= 1 ? nil : "a weight decay in [0, 1]" })
    training.localSteps = try t.int("local_steps", default: 1) {
      (1...Limits.localSteps).contains($0) ? nil : "1 (FedSGD) to \(Limits.localSteps) (FedAvg)"
    }
    let eps = try t.double("adversarial_eps", default: 0) {
      $0 >= 0 && $0 <= 1 ? nil : "a perturbation budget in [0, 1] (0: plain training)"
    }
    let steps = try t.int("adversarial_steps", default: 7) { (1...100).contains($0) ? nil : "PGD steps from 1 to 100" }
    let norm = try t.string("adversarial_norm", default: "linf") { $0 == "linf" || $0 == "l2" ? nil : "linf or l2" }
    if eps > 0 { training.adversarial = AdversarialTraining(eps: Float(eps), steps: steps, norm: norm) }
    training.dp = try decodeDP(&t, mechanism: "DP-SGD", clipped: "per-sample")
    if training.dp != nil, training.adversarial != nil {
      throw t.error("dp_noise_multiplier", "DP-SGD and adversarial training cannot be combined (yet): choose one")
    }
    try t.finish()
    return training
  }

  /// `dp_noise_multiplier` (0: none), `dp_clip`, `dp_delta`: the same keys in `[training]`
  /// (DP-SGD in the workers) and `[coordinator]` (DP-FedAvg).
  static func decodeDP(_ t: inout TableReader, mechanism: String, clipped: String) throws -> WorkerDP? {
    let noise = try t.double("dp_noise_multiplier", default: 0) {
      $0 >= 0 && $0 <= 1000 ? nil : "a noise multiplier in [0, 1000] (0: no \(mechanism))"
    }
    let clip = try t.double("dp_clip", default: 1) { $0 > 0 && $0 <= 1e6 ? nil : "a \(clipped) clipping norm > 0" }
    let delta = try t.double("dp_delta", default: 1e-5) { $0 > 0 && $0 < 1 ? nil : "a δ in (0, 1)" }
    return noise > 0 ? WorkerDP(clip: Float(clip), noiseMultiplier: noise, delta: delta) : nil
  }

  /// The owner's watermark at the coordinator (`watermark_*`; WAFFLE), nil without triggers.
  static func decodeServerWatermark(_ c: inout TableReader) throws -> ServerWatermarkSettings? {
    let triggers = try c.int("watermark_triggers", default: 0) {
      (0...10_000).contains($0) ? nil : "0 (no watermark) to 10000 trigger images"
    }
    let markSeed = try c.int("watermark_seed", default: 1) { $0 >= 0 ? nil : "a seed >= 0 (keep it secret)" }
    let threshold = try c.double("watermark_threshold", default: 0.98) { $0 > 0 && $0 <= 1 ? nil : "a trigger accuracy in (0, 1]" }
    let maxSteps = try c.int("watermark_max_steps", default: 100) { (1...100_000).contains($0) ? nil : "1 to 100000 SGD steps a round" }
    guard triggers > 0 else { return nil }
    return ServerWatermarkSettings(triggers: triggers, seed: UInt64(markSeed), threshold: threshold, maxSteps: maxSteps)
  }

  /// `secure_aggregation = true | false | { threshold = T }`.
  static func decodeSecureAggregation(_ c: inout TableReader) throws -> SecureAggregationSettings? {
    guard let n = c.table["secure_aggregation"] else { return nil }
    if case .boolean = n.value { return try c.bool("secure_aggregation", default: false) ? SecureAggregationSettings() : nil }
    var t = try c.table("secure_aggregation")
    let threshold = try t.optionalInt("threshold") { (2...Limits.workers).contains($0) ? nil : "2 to \(Limits.workers) shares" }
    try t.finish()
    return SecureAggregationSettings(threshold: threshold)
  }

  static func decodeCoordinator(_ c: inout TableReader) throws -> CoordinatorSettings {
    var coord = CoordinatorSettings()
    coord.endpoint = try c.string("endpoint", default: coord.endpoint) { e in
      e == "ipc" || e == "inproc" || e.hasPrefix("tcp://") ? nil : "\"ipc\", \"inproc\" or a tcp://HOST:PORT address"
    }
    coord.roundDeadlineMs = try c.int("round_deadline_ms", default: coord.roundDeadlineMs) {
      (10...Limits.milliseconds).contains($0) ? nil : "10 ms to \(Limits.milliseconds) ms (a day)"
    }
    coord.evalEvery = try c.int("eval_every", default: coord.evalEvery) {
      (1...Limits.rounds).contains($0) ? nil : "evaluate every 1 to \(Limits.rounds) rounds"
    }
    coord.sampleFraction = try c.double("sample_fraction", default: 1) { $0 > 0 && $0 <= 1 ? nil : "a fraction in (0, 1]" }
    // Specs are resolved once, here: every default filled in, every value checked by the plug-in.
    coord.aggregator = try c.resolve(
      AggregationRegistry.aggregators, try c.rule("aggregator", default: RuleSpec(name: "mean"), known: Registry.aggregators),
      key: "aggregator")
    coord.preaggregators = try c.rules("preaggregators", known: Registry.preaggregators).map {
      try c.resolve(AggregationRegistry.preaggregators, $0, key: "preaggregators")
    }
    coord.maxUpdateNorm = try c.double("max_update_norm", default: 1e6) {
      $0 > 0 && $0 <= UpdateScreen.maxNormBound
        ? nil : "a norm in (0, \(UpdateScreen.maxNormBound)] (the aggregators are exact up to that bound)"
    }
    coord.rootDatasetSize = try c.int("root_dataset_size", default: 0) { $0 >= 0 && $0 <= 10_000 ? nil : "between 0 and 10000 samples" }
    coord.dp = try decodeDP(&c, mechanism: "DP-FedAvg", clipped: "per-update")
    coord.watermark = try decodeServerWatermark(&c)
    if c.table["curious"] != nil {
      var t = try c.table("curious")
      coord.curiousEvery = try t.int("every", default: 10) { (1...Limits.rounds).contains($0) ? nil : "every 1 to \(Limits.rounds) rounds" }
      try t.finish()
    }
    coord.secureAggregation = try decodeSecureAggregation(&c)
    coord.auditors = try c.stringArray("auditors") {
      AuditorRegistry.names.contains($0) || $0 == "all" ? nil : "one of \(AuditorRegistry.names.joined(separator: ", ")) or \"all\""
    }
    if coord.auditors.contains("all") { coord.auditors = AuditorRegistry.names }
    coord.sanitizeMantissaBits = try c.optionalInt("sanitize_mantissa_bits") {
      (0...22).contains($0) ? nil : "0 to 22 mantissa bits to keep (omit the key to keep all 23)"
    }
    coord.serverLearningRate = Float(
      try c.double("server_learning_rate", default: 1) { $0 > 0 && $0 <= Limits.rate ? nil : "a rate in (0, \(Limits.rate)]" })
    coord.checkpointEvery = try c.int("checkpoint_every", default: coord.checkpointEvery) {
      (1...Limits.rounds).contains($0) ? nil : "checkpoint every 1 to \(Limits.rounds) rounds"
    }
    coord.heartbeatMs = try c.int("heartbeat_ms", default: coord.heartbeatMs) { (10...60_000).contains($0) ? nil : "10 ms to 60000 ms" }
    coord.livenessMs = try c.int("liveness_ms", default: coord.livenessMs) {
      (50...Limits.milliseconds).contains($0) ? nil : "50 ms to \(Limits.milliseconds) ms"
    }
    if coord.livenessMs <= 2 * coord.heartbeatMs {
      throw c.error(
        "liveness_ms",
        "must exceed two heartbeats (\(2 * coord.heartbeatMs) ms): found \(coord.livenessMs). Raise liveness_ms or lower heartbeat_ms")
    }
    try c.finish()
    return coord
  }

  /// One [[workers]] group.
  static func decodeGroup(_ g: inout TableReader, rounds: Int, limit: Int) throws -> WorkerGroup {
    let count = try g.int("count", default: nil) {
      (1...limit).contains($0) ? nil : "at least 1 worker (at most \(limit))"
    }
    var group = WorkerGroup(count: count)
    group.behavior = try g.string("behavior", default: "honest") {
      Registry.behaviors.contains($0) ? nil : "one of \(Registry.behaviors.joined(separator: ", "))"
    }
    group.attack = try g.numberTable("attack")
    if let k = try g.optionalString("knowledge") {
      guard let kn = Knowledge(rawValue: k) else { throw g.error("knowledge", "expected \"own\" or \"omniscient\", found \"\(k)\"") }
      group.knowledge = kn
    }
    group.startRound = try g.int("start_round", default: 0) {
      $0 >= 0 && $0 < rounds ? nil : "a round from 0 to \(rounds - 1) (the run has \(rounds) rounds)"
    }
    group.every = try g.int("every", default: 1) { (1...Limits.rounds).contains($0) ? nil : "attack every 1 to \(Limits.rounds) rounds" }
    group.attackLocalSteps = try g.optionalInt("attack_local_steps") {
      (1...Limits.localSteps).contains($0) ? nil : "1 to \(Limits.localSteps) local steps"
    }
    if try g.bool("resample", default: false) {
      group.active = try g.int("active", default: nil) { $0 >= 1 && $0 <= count ? nil : "between 1 and the group's count (\(count))" }
    } else if g.table["active"] != nil {
      throw g.error("active", "active needs resample = true (a re-sampled malicious set)")
    }
    if g.table["data_attack"] != nil {
      group.dataAttack = try g.resolve(
        AttackRegistry.data, try g.rule("data_attack", default: RuleSpec(name: ""), known: Registry.dataAttacks), key: "data_attack")
      do { _ = try AttackRegistry.data(group.dataAttack!.name, group.dataAttack!.params) } catch let e as AttackError {
        throw g.error("data_attack", e.message)
      }
    }
    if g.table["covert"] != nil {
      var spec = try g.rule("covert", default: RuleSpec(name: ""), known: Registry.covertChannels)
      do { spec.params = try CovertRegistry.resolve(spec.name, spec.params) } catch let e as CovertError {
        throw g.error("covert", e.message)
      }
      guard !group.hasUpdateAttack, group.dataAttack == nil else {
        throw g.error(
          "covert",
          "a covert group trains honestly otherwise: drop behavior/data_attack, or put the covert channel in its own [[workers]] group")
      }
      group.covert = spec
    }
    if g.table["supply_chain"] != nil { group.supplyChain = try decodeSupplyChain(&g) }
    if group.hasUpdateAttack {
      let attack: any UpdateAttack
      group.attack = try g.resolve(AttackRegistry.update, RuleSpec(name: group.behavior, params: group.attack), key: "attack").params
      do { attack = try AttackRegistry.update(group.behavior, group.attack) } catch let e as AttackError {
        throw g.error("attack", e.message)
      }
      if attack.needs == .omniscient && group.knowledge == .own {
        throw g.error("knowledge", "\(group.behavior) needs the honest updates: set knowledge = \"omniscient\" (found \"own\")")
      }
    } else if !group.attack.isEmpty {
      throw g.error("attack", "attack parameters need an update attack in behavior (found \"honest\")")
    }
    try g.finish()
    return group
  }

  /// `supply_chain = { name = "trojan_blas", mode = "scale" | "sign_flip" | "drift", factor = F, rows = [R, …] }`.
  static func decodeSupplyChain(_ g: inout TableReader) throws -> SupplyChainSpec {
    var t = try g.table("supply_chain")
    var spec = SupplyChainSpec()
    spec.name = try t.string("name", default: nil) { $0 == "trojan_blas" ? nil : "\"trojan_blas\" (a trojaned BLAS)" }
    spec.mode = SupplyChainSpec.Mode(
      rawValue: try t.string("mode", default: "scale") {
        SupplyChainSpec.Mode(rawValue: $0) == nil ? "\"scale\", \"sign_flip\" or \"drift\"" : nil
      })!
    spec.factor = try t.double("factor", default: spec.mode == .drift ? 0.01 : 1.5) { abs($0) <= 1e6 ? nil : "a factor within ±1e6" }
    spec.rows = try t.intArray("rows", default: [0]) { r in
      !r.isEmpty && r.count <= 1024 && r.allSatisfy { (0..<1_000_000).contains($0) } ? nil : "1 to 1024 row indices ≥ 0"
    }
    try t.finish()
    return spec
  }

  static func decodeAudit(_ a: inout TableReader, auditors: [String]) throws -> AuditSettings {
    var audit = AuditSettings()
    let modeName = try a.string("mode", default: "observe") { AuditSettings.Mode(rawValue: $0) == nil ? "\"observe\" or \"exclude\"" : nil }
    audit.mode = AuditSettings.Mode(rawValue: modeName)!
    audit.k = try a.double("k", default: 1) { $0 >= 0 && $0 <= 1e6 ? nil : "a CUSUM slack in [0, 1e6]" }
    audit.h = try a.double("h", default: 10) { $0 > 0 && $0 <= 1e6 ? nil : "a CUSUM threshold in (0, 1e6]" }
    try a.finish()
    if audit.mode == .exclude && auditors.isEmpty {
      throw a.error("mode", "exclude needs auditors: set coordinator.auditors (e.g. [\"all\"])")
    }
    return audit
  }
}

/// Reads typed keys from one table, remembering which were used: `finish()` turns every
/// other key into an error that lists the allowed ones.
/// Reads one TOML table key by key, every error naming the file, line and key (`FILE:LINE: KEY:
/// expected …, found …`), and refuses keys nobody read (`finish`). Topologies and deployment files
/// use it.
public struct TableReader {
  public let file: String
  public let path: String
  public let table: TOMLTable
  public let line: Int
  private var used: [String] = []

  public init(file: String, path: String, table: TOMLTable, line: Int) {
    self.file = file; self.path = path; self.table = table; self.line = line
  }

  func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
  func valueLine(_ key: String) -> Int { table[key]?.line ?? line }

  public func error(_ key: String, _ message: String) -> TopologyError {
    TopologyError(file: file, line: valueLine(key), key: qualified(key), message: message)
  }

  func mismatch(_ key: String, expected: String, found node: TOMLNode) -> TopologyError {
    TopologyError(
      file: file, line: node.line, key: qualified(key), message: "expected \(expected), found \(node.value.typeName) \(node.value.rendered)"
    )
  }

  mutating func node(_ key: String) -> TOMLNode? {
    used.append(key)
    return table[key]
  }

  public mutating func string(_ key: String, default def: String?, _ check: (String) -> String?) throws -> String {
    guard let n = node(key) else {
      if let def { return def }
      throw TopologyError(file: file, line: line, key: qualified(key), message: "missing: add \(key) = \"...\"")
    }
    guard case let .string(s) = n.value else { throw mismatch(key, expected: "a string", found: n) }
    if let expected = check(s) { throw mismatch(key, expected: expected, found: n) }
    return s
  }

  public mutating func int(_ key: String, default def: Int?, _ check: (Int) -> String?) throws -> Int {
    guard let n = node(key) else {
      if let def { return def }
      throw TopologyError(file: file, line: line, key: qualified(key), message: "missing: add \(key) = N")
    }
    guard case let .integer(i) = n.value, let v = Int(exactly: i) else { throw mismatch(key, expected: "an integer", found: n) }
    if let expected = check(v) { throw mismatch(key, expected: expected, found: n) }
    return v
  }

  public mutating func optionalInt(_ key: String, _ check: (Int) -> String?) throws -> Int? {
    guard table[key] != nil else { used.append(key); return nil }
    return try int(key, default: nil, check)
  }

  public mutating func optionalDouble(_ key: String, _ check: (Double) -> String?) throws -> Double? {
    guard table[key] != nil else { used.append(key); return nil }
    return try double(key, default: .nan, check)
  }

  public mutating func double(_ key: String, default def: Double, _ check: (Double) -> String?) throws -> Double {
    guard let n = node(key) else { return def }
    let v: Double
    switch n.value {
    case let .float(d):
      guard d.isFinite else { throw mismatch(key, expected: "a finite number", found: n) }
      v = d
    case let .integer(i): v = Double(i)
    default: throw mismatch(key, expected: "a number", found: n)
    }
    if let expected = check(v) { throw mismatch(key, expected: expected, found: n) }
    return v
  }

  public mutating func bool(_ key: String, default def: Bool) throws -> Bool {
    guard let n = node(key) else { return def }
    guard case let .boolean(b) = n.value else { throw mismatch(key, expected: "true or false", found: n) }
    return b
  }

  public mutating func intArray(_ key: String, default def: [Int], _ check: ([Int]) -> String?) throws -> [Int] {
    guard let n = node(key) else { return def }
    guard case let .array(items) = n.value else { throw mismatch(key, expected: "an array of integers", found: n) }
    var out: [Int] = []
    for item in items {
      guard case let .integer(i) = item.value, let v = Int(exactly: i) else {
        throw mismatch(key, expected: "an array of integers", found: n)
      }
      out.append(v)
    }
    if let expected = check(out) { throw mismatch(key, expected: expected, found: n) }
    return out
  }

  /// A sub-table (absent: an empty one, so every key takes its default).
  public mutating func table(_ key: String) throws -> TableReader {
    guard let n = node(key) else { return TableReader(file: file, path: qualified(key), table: TOMLTable(), line: line) }
    guard case let .table(t) = n.value else { throw mismatch(key, expected: "a table [\(qualified(key))]", found: n) }
    return TableReader(file: file, path: qualified(key), table: t, line: n.line)
  }

  /// An array of tables ([[key]]).
  public mutating func tableArray(_ key: String) throws -> [TableReader] {
    guard let n = node(key) else { return [] }
    guard case let .array(items) = n.value else { throw mismatch(key, expected: "one or more [[\(qualified(key))]] tables", found: n) }
    return try items.enumerated().map { index, item in
      guard case let .table(t) = item.value else { throw mismatch(key, expected: "one or more [[\(qualified(key))]] tables", found: n) }
      return TableReader(file: file, path: "\(qualified(key))[\(index)]", table: t, line: item.line)
    }
  }

  /// `partition = "iid"` or `partition = { kind = "dirichlet", alpha = 0.5 }`.
  mutating func partition(_ key: String) throws -> Partition {
    guard let n = node(key) else { return .iid }
    let expected = "\"iid\" or a table like { kind = \"dirichlet\", alpha = 0.5 } (kinds: \(Registry.partitions.joined(separator: ", ")))"
    switch n.value {
    case let .string(s):
      guard s == "iid" else { throw mismatch(key, expected: expected, found: n) }
      return .iid
    case let .table(t):
      var r = TableReader(file: file, path: qualified(key), table: t, line: n.line)
      let kind = try r.string("kind", default: nil) {
        Registry.partitions.contains($0) ? nil : "one of \(Registry.partitions.joined(separator: ", "))"
      }
      let p: Partition
      switch kind {
      case "dirichlet": p = .dirichlet(alpha: try r.double("alpha", default: 0.5) { $0 > 0 && $0 <= 1e6 ? nil : "an alpha in (0, 1e6]" })
      case "shards":
        p = .shards(
          classesPerWorker: try r.int("classes_per_worker", default: 2) { (1...10).contains($0) ? nil : "1 to 10 classes per worker" })
      case "group_bias": p = .groupBias(p: try r.double("p", default: 0.5) { $0 >= 0 && $0 <= 1 ? nil : "a probability in [0, 1]" })
      default: p = .iid
      }
      try r.finish()
      return p
    default:
      throw mismatch(key, expected: expected, found: n)
    }
  }

  /// `key = ["a", "b"]` with each entry checked.
  public mutating func stringArray(_ key: String, _ check: (String) -> String?) throws -> [String] {
    guard let n = node(key) else { return [] }
    guard case let .array(items) = n.value else { throw mismatch(key, expected: "an array of names", found: n) }
    return try items.map { item in
      guard case let .string(s) = item.value else { throw mismatch(key, expected: "an array of names", found: n) }
      if let expected = check(s) { throw mismatch(key, expected: expected, found: item) }
      return s
    }
  }

  public mutating func optionalString(_ key: String) throws -> String? {
    guard table[key] != nil else { used.append(key); return nil }
    return try string(key, default: nil) { _ in nil }
  }

  /// `key = { name = number, ... }` (attack parameters; label-flip mappings use label keys).
  mutating func numberTable(_ key: String) throws -> [String: Double] {
    guard let n = node(key) else { return [:] }
    guard case let .table(t) = n.value else { throw mismatch(key, expected: "a table of numbers like { z = 1.0 }", found: n) }
    var out: [String: Double] = [:]
    for k in t.keys {
      switch t[k]!.value {
      case let .integer(i): out[k] = Double(i)
      case let .float(d) where d.isFinite: out[k] = d
      default:
        throw TopologyError(
          file: file, line: t[k]!.line, key: "\(qualified(key)).\(k)",
          message: "expected a finite number, found \(t[k]!.value.typeName) \(t[k]!.value.rendered)")
      }
    }
    return out
  }

  /// `key = "name"` or `key = { name = "...", param = number, ... }`.
  public mutating func rule(_ key: String, default def: RuleSpec, known: [String]) throws -> RuleSpec {
    guard let n = node(key) else { return def }
    return try Self.rule(n, key: key, reader: self, known: known)
  }

  /// `key = ["name", { name = "...", ... }, ...]`.
  mutating func rules(_ key: String, known: [String]) throws -> [RuleSpec] {
    guard let n = node(key) else { return [] }
    guard case let .array(items) = n.value else { throw mismatch(key, expected: "an array of rule names or tables", found: n) }
    return try items.map { try Self.rule($0, key: key, reader: self, known: known) }
  }

  static func rule(_ n: TOMLNode, key: String, reader: TableReader, known: [String]) throws -> RuleSpec {
    let expected =
      "one of \(known.joined(separator: ", ")), or a table like { name = \"\(known.last ?? "krum")\", ... } with its numeric parameters"
    switch n.value {
    case let .string(s):
      guard known.contains(s) else {
        guard let near = Suggestion.closest(to: s, in: known) else { throw reader.mismatch(key, expected: expected, found: n) }
        throw TopologyError(
          file: reader.file, line: n.line, key: reader.qualified(key),
          message: "unknown name \"\(s)\" (did you mean \"\(near)\"?): expected \(expected)")
      }
      return RuleSpec(name: s)
    case let .table(t):
      guard case let .string(name)? = t["name"]?.value else {
        throw TopologyError(
          file: reader.file, line: n.line, key: reader.qualified(key), message: "expected a name = \"...\" entry naming \(expected)")
      }
      guard known.contains(name) else {
        throw TopologyError(
          file: reader.file, line: n.line, key: reader.qualified(key),
          message:
            "unknown name \"\(name)\"\(Suggestion.closest(to: name, in: known).map { " (did you mean \"\($0)\"?)" } ?? ""): expected \(expected)"
        )
      }
      var params: [String: Double] = [:]
      for k in t.keys where k != "name" {
        switch t[k]!.value {
        case let .integer(i): params[k] = Double(i)
        case let .float(d) where d.isFinite: params[k] = d
        default:
          throw TopologyError(
            file: reader.file, line: t[k]!.line, key: "\(reader.qualified(key)).\(k)",
            message: "expected a finite number, found \(t[k]!.value.typeName) \(t[k]!.value.rendered)")
        }
      }
      return RuleSpec(name: name, params: params)
    default:
      throw reader.mismatch(key, expected: expected, found: n)
    }
  }

  /// `spec` with its plug-in's defaults filled in and every value checked; a refusal names `key`.
  public func resolve<P>(_ registry: PluginRegistry<P>, _ spec: RuleSpec, key: String) throws -> RuleSpec {
    do {
      return RuleSpec(name: spec.name, params: try registry.resolve(spec.name, spec.params).values)
    } catch let e as PluginError {
      throw error(key, e.message)
    }
  }

  /// Every key not read is unknown: an error listing what this table accepts.
  public func finish() throws {
    for key in table.keys where !used.contains(key) {
      let allowed = used.joined(separator: ", ")
      let hint = Suggestion.closest(to: key, in: used).map { "did you mean \($0)? " } ?? ""
      throw TopologyError(
        file: file, line: table[key]!.line, key: qualified(key),
        message: "unknown key (\(hint)\(path.isEmpty ? "top level" : "[\(path)]") accepts: \(allowed)); check its spelling")
    }
  }
}

/// The largest values a topology may hold: beyond them a run is a typo, not an experiment, and
/// a value this large would overflow a clock, a buffer or a Float32 somewhere downstream.
public enum Limits {
  public static let rounds = 1_000_000
  public static let workers = 4096
  /// Logical clients of one run (`clients`), and the pool of processes that simulates them.
  public static let clients = 1_000_000
  public static let pool = 256
  public static let samples = 10_000_000
  public static let batchSize = 65_536
  public static let localSteps = 100_000
  /// Deadlines and liveness: a day.
  public static let milliseconds = 86_400_000
  /// Learning rates (Float32 on the wire and in the optimizer).
  public static let rate = 1000.0
}
