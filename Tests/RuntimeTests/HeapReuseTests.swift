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

  /// Forks; the child enables HeapReuse, allocates the block twice and reports (HeapReuse
  /// taken, the faults of the first and of the second block, threads mode taken). The first block
  /// always faults: after fork every page the child writes is either new or copied on write.
  /// Threads mode is only checked for acceptance: a freed block still in the arena (the child
  /// inherits the parent's) is used before anything is mapped, so its faults prove nothing.
  static func measureInAChild() throws -> (Int, Int, Int, Int) {
    var ends: [Int32] = [0, 0]
    try #require(pipe(&ends) == 0)
    let child = fork()
    if child == 0 {
      close(ends[0])
      var out = (0, 0, 0, 0)
      out.0 = HeapReuse.enable() ? 1 : 0
      out.1 = faultsOfOneBlock()
      out.2 = faultsOfOneBlock()
      out.3 = HeapReuse.threadsMode() ? 1 : 0
      let written = withUnsafeBytes(of: &out) { write(ends[1], $0.baseAddress, $0.count) }
      _exit(written == MemoryLayout.size(ofValue: out) ? 0 : 1)
    }
    close(ends[1])
    defer { close(ends[0]) }
    try #require(child > 0, "fork failed: errno \(errno)")
    var figures = (-1, -1, -1, -1)
    let bytes = withUnsafeMutableBytes(of: &figures) { read(ends[0], $0.baseAddress, $0.count) }
    var status: Int32 = 0
    try #require(waitpid(child, &status, 0) == child)
    try #require(status == 0, "the child ended with status \(status)")
    try #require(bytes == MemoryLayout.size(ofValue: figures), "the child wrote \(bytes) bytes")
    return figures
  }

  @Test func largeBlocksStayInTheHeap() throws {
    let (taken, first, reused, threadsTaken) = try Self.measureInAChild()
    #expect(taken == 1 && threadsTaken == 1, "glibc took both settings")
    // 48 MiB is 12,288 pages of 4 KB: the first block's pages each fault once.
    #expect(first > 10_000, "the first block is new to the child: \(first) faults")
    #expect(reused < 1_000, "a block freed in the heap is used again without faults: \(reused) faults")
  }
}
