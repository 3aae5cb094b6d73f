/// A mistake in the user's input found while running (not while parsing options): printed as
/// "Error: <message>" with a non-zero exit, without the usage text.
struct UserError: Error, CustomStringConvertible {
  let description: String
  init(_ message: String) { description = message }
}
