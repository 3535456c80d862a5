import Storage

extension DatabasePool.Settings {
    /// Settings for a pool on the shared test cluster: a 30 s connect timeout and (by default) a
    /// 60 s lease timeout, far above the 3 s and 5 s defaults. The whole suite starts at once on
    /// 2 cores, and under that load a connect once took longer than 3 s: a pool test failed in CI
    /// (2026-12-06), and a test server refused its own fresh admin key because the key's lookup
    /// could not get a connection. Tests that are about timeouts set their own.
    public static func onTestCluster(size: Int, leaseTimeout: Duration = .seconds(60)) -> Self {
        .init(size: size, leaseTimeout: leaseTimeout, connectTimeout: .seconds(30))
    }
}
