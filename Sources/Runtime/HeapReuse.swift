import CKernels

/// Keeps a round's buffers (models, updates, the update matrix, an attack's matrix of leaked
/// updates: hundreds of KB to a hundred MB each) in the heap for the next round instead of
/// glibc's default, which maps each block of 32 MiB or more fresh and unmaps it on free — every
/// round then pays a page fault per 4 KB touched (a third of a coordinator's time at 100 updates
/// a round; half of the adversary hub's Fang attack on Krum at 100 CNN workers, where a fault
/// costs ~8 µs on this VM). A setting of the process, so `byzsim` and `byzsim-bench` make it once
/// in `main` (every role runs under it). Memory freed stays with the process (its peak).
public enum HeapReuse {
  /// Returns whether the C library took the settings (glibc does).
  @discardableResult
  public static func enable() -> Bool { bz_heap_reuse(0) == 1 }

  /// Threads mode: each thread allocates from its own glibc arena, and a block freed in one
  /// arena serves no other, so blocks of 32 MiB and more go back to being mapped one by one, and
  /// what the front end freed so far (preparing the run) is returned. Kept, such blocks raised
  /// byzfl-bench's peak as threads from 351 to 527 MB PSS.
  @discardableResult
  public static func threadsMode() -> Bool { bz_heap_reuse(1) == 1 }

  /// The minor page faults of allocating, filling and freeing a block of `bytes`, `rounds` times
  /// over: with the settings taken, the first round faults on every page and the later ones on
  /// (almost) none; with blocks mapped, every round faults on every page. Measured in the calling
  /// thread's arena, so call it from the main thread: glibc unmaps a heap of another thread's
  /// arena as soon as it is wholly free, whatever the settings.
  public static func faultsOfReusedBlocks(bytes: Int = 48 << 20, rounds: Int = 6) -> [Int] {
    (0..<rounds).map { _ in bz_heap_block_faults(bytes) }
  }

  /// Gives the memory freed so far back to the system — after a one-off peak such as loading a
  /// data set, so that the process keeps only what its rounds reuse.
  public static func releaseFreed() { bz_heap_release() }
}
