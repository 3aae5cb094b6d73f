import Foundation
import TestSupport
import Testing
@testable import Aggregation

/// Sources/CKernels/networks.c is generated: it must be what scripts/gen-networks.py writes, and
/// each unrolled network must be SortingNetwork.comparators(n), comparator for comparator (the
/// ties land in the same slots only then; PropertyTests compares the bits).
@Suite struct NetworksFileTests {
  static var root: URL {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
      url.deleteLastPathComponent()
    }
    return url
  }

  @Test func theGeneratedFileIsUpToDateAndHoldsSwiftsNetworks() throws {
    let committed = Self.root.appendingPathComponent("Sources/CKernels/networks.c")
    let fresh = FileManager.default.temporaryDirectory.appendingPathComponent("networks-\(UUID().uuidString).c")
    defer { try? FileManager.default.removeItem(at: fresh) }
    try ReferencePython.run([Self.root.appendingPathComponent("scripts/gen-networks.py").path, fresh.path])
    let text = try String(contentsOf: committed, encoding: .utf8)
    #expect(try String(contentsOf: fresh, encoding: .utf8) == text, "networks.c differs from what scripts/gen-networks.py writes")
    #expect(SortingNetwork.smallMax == 64 || SortingNetwork.smallMax == 0)
    // Each function's comparators, read from the file.
    var networks: [Int: [(Int, Int)]] = [:]
    var current: Int?
    for line in text.split(separator: "\n") {
      if line.contains("static void tile_"), let n = Int(line.split(separator: "tile_")[1].prefix { $0.isNumber }) {
        current = n
        networks[n] = []
      } else if let n = current, line.hasPrefix("    CX(v") {
        let pair = line.dropFirst(8).split(separator: ",").map { Int($0.filter(\.isNumber))! }
        networks[n]!.append((pair[0], pair[1]))
      }
    }
    #expect(networks.keys.sorted() == Array(2...64))
    for (n, net) in networks {
      let swift = SortingNetwork.comparators(n)
      #expect(net.count == swift.count && zip(net, swift).allSatisfy { $0 == $1 }, "n = \(n)")
    }
  }
}
