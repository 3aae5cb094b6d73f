/// Runs `body` repeatedly for at least `seconds` (after one warm-up call) and returns
/// (calls per second, the sum of what `body` returned) — the sum is printed so the
/// optimizer cannot delete the measured work.
func measure(seconds: Double, _ body: () -> Double) -> (rate: Double, checksum: Double) {
  var checksum = body()
  var calls = 0
  let start = ContinuousClock.now
  var elapsed = 0.0
  repeat {
    checksum += body()
    calls += 1
    let d = (ContinuousClock.now - start).components
    elapsed = Double(d.seconds) + Double(d.attoseconds) * 1e-18
  } while elapsed < seconds
  return (Double(calls) / elapsed, checksum)
}
