/// Asks `probe` every `interval` until `done` accepts its answer or `limit` has passed, and returns
/// the last answer for the test's own expectation. For what a server does on its own time: a
/// sweep, a hang-up it notices, the first database connection it leases under a full parallel run.
public func poll<Answer>(
    for limit: Duration, every interval: Duration = .milliseconds(100), _ probe: () async throws -> Answer,
    until done: (Answer) throws -> Bool
) async throws -> Answer {
    let deadline = ContinuousClock.now + limit
    var answer = try await probe()
    while try !done(answer), ContinuousClock.now < deadline {
        try await Task.sleep(for: interval)
        answer = try await probe()
    }
    return answer
}
