import Foundation
import Testing

/// HeapReuse changes how the C library hands out large blocks; the page faults a process takes
/// (getrusage's minor faults) show which way it went. Measured by `byzsim info --heap` in a
/// process of its own, on its main thread — glibc's main arena, where a role's rounds allocate.
/// (Forked from a test's thread, a child allocated from that thread's arena instead, whose heaps
/// glibc unmaps as soon as one is wholly free whatever the settings: CI once saw every round
/// fault on all 12,289 pages.) The block is 48 MiB, above glibc's largest mmap threshold
/// (32 MiB): mapped, as in threads mode or with glibc's defaults, every round faults on every page.
@Suite struct HeapReuseTests {
  /// The page faults of the rounds on the line starting with `prefix`.
  static func faults(_ stdout: String, _ prefix: String) throws -> [Int] {
    let line = try #require(stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }, "\(stdout)")
    let list = line[try #require(line.range(of: "page faults by round: ")).upperBound...].dropLast()
    return list.split(separator: ", ").compactMap { Int($0) }
  }

  @Test func largeBlocksStayInTheHeap() throws {
    let r = try CLI.run(["info", "--heap"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("heap: large-block settings taken"), "\(r.stdout)")
    let kept = try Self.faults(r.stdout, "heap: freed 48 MiB blocks are reused")
    #expect(kept.count == 6 && kept.dropFirst().allSatisfy { $0 < 1_000 }, "a freed block is used again without faults: \(kept)")
    // 48 MiB is 12,288 pages of 4 KB, each faulting once a round when blocks are mapped.
    let mapped = try Self.faults(r.stdout, "heap: threads mode taken")
    #expect(mapped.count == 6 && mapped.allSatisfy { $0 > 10_000 }, "threads mode maps each block: \(mapped)")
  }
}
