import Foundation
import Testing

/// `byzsim attack gradient-leakage`: a one-image update gives its image and label away exactly;
/// secure aggregation over 8 workers and DP noise both stop the exact recovery.
@Suite(.serialized) struct LeakageCommandTests {
  func rows(_ args: [String]) throws -> [[String: Any]] {
    let r = try CLI.run(["attack", "gradient-leakage", "--trials", "8", "--json"] + args)
    #expect(r.status == 0, "\(r.stderr)")
    return r.json?["rows"] as? [[String: Any]] ?? []
  }

  @Test func exactForOneImageAndStoppedByTheDefences() throws {
    let plain = try rows(["--batch-sizes", "1,8"])
    #expect(plain.first?["exact"] as? Int == 8 && plain.first?["label_recall"] as? Double == 1, "\(plain)")
    #expect(plain.last?["exact"] as? Int == 0)
    let aggregated = try rows(["--batch-sizes", "1", "--workers", "8"])
    #expect(aggregated.first?["exact"] as? Int == 0, "\(aggregated)")
    let noisy = try rows(["--batch-sizes", "1", "--dp-noise", "1"])
    #expect(noisy.first?["exact"] as? Int == 0 && (noisy.first?["psnr_median"] as? Double ?? 99) < 12, "\(noisy)")
  }

  @Test func badArgumentsAreClearErrors() throws {
    for (args, message) in [(["--batch-sizes", "0"], "batch size"), (["--workers", "0"], "workers"), (["--dp-clip", "0"], "dp-clip")] {
      let r = try CLI.run(["attack", "gradient-leakage"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
