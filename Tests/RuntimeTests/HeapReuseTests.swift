import Foundation
import Testing
@testable import Runtime

/// HeapReuse changes how the C library hands out large blocks; the page faults a process takes
/// (getrusage's minor faults) show which way it went. The settings are the process's, and other
/// suites running in this process change them (a launch with --threads) or trim the heap (a pool
/// of logical clients after loading its data), so the measurement runs in a forked child: one
/// thread, nothing else running. The child calls only the C library between fork and _exit (glibc's
/// malloc is safe after fork) and writes its figures to a pipe.
///
/// The block is 48 MiB: above glibc's largest mmap threshold (32 MiB), below the 64 MB heaps of
/// the arenas of threads other than the main one, which map anything larger whatever the settings.
@Suite struct HeapReuseTests {
  static let blockBytes = 48 << 20

  static func minorFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
  }

  /// Faults taken by allocating, filling and freeing a 48 MiB block (C calls only: fork-safe).
  static func faultsOfOneBlock() -> Int {
    let before = minorFaults()
    guard let block = malloc(blockBytes) else { return -1 }
    memset(block, 1, blockBytes)
    free(block)
    return minorFaults() - before
  }

  /// Rounds of allocating, filling and freeing the block that the child measures.
  static let rounds = 6

  /// Forks; the child enables HeapReuse, allocates the block `rounds` times and reports whether
  /// HeapReuse was taken, whether threads mode was taken (checked for acceptance only), and the
  /// faults of each round. The first round always faults: after fork every page the child writes
  /// is either new or copied on write. Later rounds need not land where the first did: the child
  /// inherits the parent's arena, whose free chunks glibc picks by best fit, and the freed block
  /// merges with free neighbours (CI saw a second round fault on all 12,288 pages). Each round's
  /// block, once freed, is at least as good a fit as before, so the rounds settle on one chunk;
  /// with blocks mapped (threads mode, glibc's default) every round faults.
  static func measureInAChild() throws -> (taken: Bool, threadsTaken: Bool, faults: [Int]) {
    var ends: [Int32] = [0, 0]
    try #require(pipe(&ends) == 0)
    let count = rounds + 2
    let figures = UnsafeMutablePointer<Int>.allocate(capacity: count)
    defer { figures.deallocate() }
    figures.initialize(repeating: -1, count: count)
    let child = fork()
    if child == 0 {
      close(ends[0])
      figures[0] = HeapReuse.enable() ? 1 : 0
      for round in 0..<rounds { figures[2 + round] = faultsOfOneBlock() }
      figures[1] = HeapReuse.threadsMode() ? 1 : 0
      let bytes = count * MemoryLayout<Int>.stride
      _exit(write(ends[1], figures, bytes) == bytes ? 0 : 1)
    }
    close(ends[1])
    defer { close(ends[0]) }
    try #require(child > 0, "fork failed: errno \(errno)")
    let bytes = read(ends[0], figures, count * MemoryLayout<Int>.stride)
    var status: Int32 = 0
    try #require(waitpid(child, &status, 0) == child)
    try #require(status == 0, "the child ended with status \(status)")
    try #require(bytes == count * MemoryLayout<Int>.stride, "the child wrote \(bytes) bytes")
    return (figures[0] == 1, figures[1] == 1, (0..<rounds).map { figures[2 + $0] })
  }

  @Test func largeBlocksStayInTheHeap() throws {
    let (taken, threadsTaken, faults) = try Self.measureInAChild()
    #expect(taken && threadsTaken, "glibc took both settings")
    // 48 MiB is 12,288 pages of 4 KB: the first block's pages each fault once.
    #expect(faults[0] > 10_000, "the first block is new to the child: faults by round \(faults)")
    let settled = faults.dropFirst().min() ?? .max
    #expect(settled < 1_000, "a block freed in the heap is used again without faults: faults by round \(faults)")
  }
}
