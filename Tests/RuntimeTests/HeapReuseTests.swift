import Foundation
import Testing
@testable import Runtime

/// HeapReuse changes how the C library hands out large blocks; the page faults a process takes
/// (getrusage's minor faults) show which way it went. One test, as the settings are the process's.
/// The block is 48 MiB: above glibc's largest mmap threshold (32 MiB), below the 64 MB heaps of
/// the arenas of threads other than the main one, which map anything larger whatever the settings.
@Suite struct HeapReuseTests {
  static func minorFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
  }

  /// Faults taken by allocating, filling and freeing a 48 MiB block.
  static func faultsOfOneBlock() -> Int {
    let before = minorFaults()
    do {
      var block = [UInt8](repeating: 1, count: 48 << 20)
      block[block.count / 2] = 2
      #expect(block[block.count / 2] == 2 && block[block.count - 1] == 1)
    }
    return minorFaults() - before
  }

  @Test func largeBlocksStayInTheHeap() {
    #expect(HeapReuse.enable())
    _ = Self.faultsOfOneBlock()  // the heap grows once
    let reused = Self.faultsOfOneBlock()
    // 48 MiB is 12,288 pages of 4 KB: mapped afresh, each one faults.
    #expect(reused < 1_000, "a block freed in the heap is used again without faults: \(reused) faults")
    // Threads mode maps blocks of 32 MiB and more again; a freed block still in the heap is
    // used first, so the settings' acceptance is what can be checked here.
    #expect(HeapReuse.threadsMode())
    #expect(HeapReuse.enable())
  }
}
