import CSodium

/// libsodium initialization, once per process for every module (`sodium_init` is idempotent and
/// thread-safe; the static makes it run once). Check `ready` before the first libsodium call.
package enum Sodium {
    package static let ready: Bool = sodium_init() >= 0
}
