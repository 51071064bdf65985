import Glibc

/// A process may inherit blocked or ignored termination signals from whatever spawned it
/// (for example a libdispatch worker thread, which blocks nearly all signals). `ark mount`
/// and the daemon must stop on SIGINT/SIGTERM/SIGHUP regardless, so they are reset to the
/// defaults first (libfuse installs its handlers only over SIG_DFL).
enum ProcessSignals {
    static func resetInherited() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
            sigaddset(&set, sig)
            signal(sig, SIG_DFL)
        }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
