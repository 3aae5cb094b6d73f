import CKernels

/// Keeps a round's large buffers (models, updates, the update matrix: hundreds of KB to tens of
/// MB each) in the heap for the next round instead of glibc's default, which maps each one
/// fresh and unmaps it on free — every round then pays a page fault per 4 KB touched (a third
/// of a coordinator's time at 100 updates a round). Process-wide; set by the coordinator and by
/// pool processes before their first round. Memory freed stays with the process (its peak).
enum HeapReuse {
  /// Returns whether the C library took the settings (glibc does).
  @discardableResult
  static func enable() -> Bool { bz_heap_reuse() == 1 }
}
