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

  /// Gradient matching: DLG finds a one-image batch to beyond 40 dB and reads a batch of four
  /// better than the closed form's mix; with five local steps the closed form still reads a single
  /// image exactly (every step's first-layer row is that image), while matching at the starting
  /// model falls apart. --svg draws the batches over what was read.
  @Test func gradientMatchingAgainstTheClosedForm() throws {
    let dir = CLI.temporaryDirectory()
    let svg = dir.appendingPathComponent("read.svg").path
    let dlg = try rows(["--batch-sizes", "1,4", "--method", "dlg", "--iterations", "1000", "--trials", "3", "--svg", svg])
    let closed = try rows(["--batch-sizes", "1,4", "--trials", "3"])
    #expect((dlg.first?["psnr_median"] as? Double ?? 0) > 40, "\(dlg)")
    #expect((dlg.last?["psnr_median"] as? Double ?? 0) > (closed.last?["psnr_median"] as? Double ?? 99), "\(dlg) \(closed)")
    let page = try String(contentsOfFile: svg, encoding: .utf8)
    #expect(page.hasPrefix("<svg") && page.contains("read: exact") == false && page.contains("b4 class"), "\(page.prefix(300))")
    let steps = try rows(["--batch-sizes", "1", "--local-steps", "5", "--trials", "3"])
    #expect(steps.first?["exact"] as? Int == 3, "\(steps)")
    let inverting = try rows(["--batch-sizes", "1", "--local-steps", "5", "--method", "inverting", "--iterations", "300", "--trials", "2"])
    #expect(inverting.first?["exact"] as? Int == 0, "\(inverting)")
  }

  @Test func badArgumentsAreClearErrors() throws {
    for (args, message) in [
      (["--batch-sizes", "0"], "batch size"), (["--workers", "0"], "workers"), (["--dp-clip", "0"], "dp-clip"),
      (["--local-steps", "0"], "local-steps"), (["--method", "magic"], "method"), (["--tv", "-1"], "tv"),
    ] {
      let r = try CLI.run(["attack", "gradient-leakage"] + args)
      #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
    }
  }
}
