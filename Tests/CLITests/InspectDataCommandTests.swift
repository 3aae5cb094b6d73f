import Foundation
import Testing

/// `byzsim inspect-data`: the ingestion detectors on Fashion-MNIST poisoned in place, scored
/// against the samples the attack changed.
@Suite(.serialized) struct InspectDataCommandTests {
  func inspect(_ args: [String]) throws -> [String: Any] {
    let r = try CLI.run(["inspect-data", "--train-limit", "4000", "--json"] + args)
    #expect(r.status == 0, "\(r.stderr)")
    return try #require(r.json)
  }

  func score(_ json: [String: Any], _ detector: String) throws -> (precision: Double, recall: Double, f1: Double) {
    let d = try #require((json["detectors"] as? [String: Any])?[detector] as? [String: Any])
    return (try #require(d["precision"] as? Double), try #require(d["recall"] as? Double), try #require(d["f1"] as? Double))
  }

  /// Label flipping at 10%: each detector finds flipped samples far above the base rate (a
  /// random flag would have precision 0.1); spectral signatures and activation clustering reach
  /// F1 above 0.5, confident learning recalls more than half.
  @Test func labelFlipsAreFound() throws {
    let json = try inspect(["--poison", "label_flip", "--rate", "0.1"])
    #expect(json["poisoned"] as? Int == 400 && json["samples"] as? Int == 4000)
    for d in ["spectral", "clustering", "confident", "input"] { #expect(try score(json, d).precision > 0.3, "\(d): \(json)") }
    #expect(try score(json, "spectral").f1 > 0.5 && score(json, "clustering").f1 > 0.5, "\(json)")
    #expect(try score(json, "confident").recall > 0.5, "\(json)")
  }

  /// BadNets triggers at 5% (all relabelled to class 0): activation clustering splits the
  /// triggered images off class 0; the input checks, which see no label and no model, do not.
  /// With --evaluate: the poisoned training set plants the backdoor, the clean one does not, and
  /// removing the clustering's flags takes most of the attack's success away.
  @Test func backdoorsAreClustered() throws {
    let json = try inspect([
      "--poison", "backdoor", "--param", "target=0", "--rate", "0.05", "--epochs", "6", "--detectors", "clustering,input", "--evaluate",
    ])
    let evaluation = try #require(json["evaluation"] as? [String: [String: Any]])
    func success(_ set: String) -> Double { evaluation[set]?["attack_success"] as? Double ?? -1 }
    #expect(success("clean") < 0.1 && success("poisoned") > 0.5, "\(evaluation)")
    #expect(success("sanitized_clustering") < success("poisoned") - 0.2, "\(evaluation)")
    #expect(
      evaluation["sanitized_clustering"]?["removed"] as? Int == (json["detectors"] as? [String: [String: Any]])?["clustering"]?["flagged"]
        as? Int)
    let c = try score(json, "clustering")
    #expect(c.recall > 0.5 && c.precision > 0.2, "\(json)")
    #expect(try score(json, "input").recall < 0.1)
    let checks = try #require(json["input_checks"] as? [String: Int])
    #expect(checks["out_of_range"] == 0 && checks["conflicting"] == 0)
  }

  /// Clean data: nothing is poisoned; bad options are clear errors.
  @Test func cleanDataAndBadOptions() throws {
    let json = try inspect(["--detectors", "input"])
    #expect(json["poisoned"] as? Int == 0 && json["poison"] is NSNull)
    for (args, message) in [
      (["--poison", "nonsense"], "unknown data attack 'nonsense'"), (["--detectors", "foo"], "unknown detector 'foo'"),
      (["--poison", "backdoor", "--param", "target"], "key=number"), (["--rate", "0"], "--rate"),
      (["--poison", "watermark"], "adds samples"),
    ] {
      let r = try CLI.run(["inspect-data", "--train-limit", "100", "--detectors", "input"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
