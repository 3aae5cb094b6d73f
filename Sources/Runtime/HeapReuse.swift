import CKernels

/// Keeps a round's large buffers (models, updates, the update matrix: hundreds of KB to tens of
/// MB each) in the heap for the next round instead of glibc's default, which maps each one
/// fresh and unmaps it on free — every round then pays a page fault per 4 KB touched (a third
/// of a coordinator's time at 100 updates a round). A setting of the process, so `byzsim` and
/// `byzsim-bench` make it once in `main` (every role, and threads mode, runs under it). Memory
/// freed stays with the process (its peak).
public enum HeapReuse {
  /// Returns whether the C library took the settings (glibc does).
  @discardableResult
  public static func enable() -> Bool { bz_heap_reuse() == 1 }
}
