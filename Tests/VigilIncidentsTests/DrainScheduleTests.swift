import Testing

@testable import VigilIncidents

@Suite struct DrainScheduleTests {
    /// `mayRun`, outside `#expect`, which cannot call a mutating method.
    func may(_ s: inout DrainSchedule, _ now: Double, behind: Bool) -> Bool {
        s.mayRun(now: now, loopBehind: behind)
    }

    @Test func runsEveryRoundWhileTheLoopKeepsUp() {
        var s = DrainSchedule(backlogDelay: 10)
        for t in stride(from: 0.0, to: 5, by: 0.25) {
            #expect(may(&s, t, behind: false))
            s.roundEnded(full: false)
        }
    }

    @Test func holdsBackDuringABacklogAtMostTheDelay() {
        var s = DrainSchedule(backlogDelay: 10)
        #expect(may(&s, 100, behind: true), "the first drain is not held back")
        s.roundEnded(full: false)
        #expect(!may(&s, 100.25, behind: true))
        #expect(!may(&s, 109.9, behind: true))
        #expect(may(&s, 110, behind: true), "no later than the delay")
        s.roundEnded(full: false)
        #expect(!may(&s, 111, behind: true))
        #expect(may(&s, 111.25, behind: false), "at once when the loop has caught up")
    }

    @Test func aDrainUnderWayGoesOnUntilNoFullBatchIsLeft() {
        var s = DrainSchedule(backlogDelay: 10)
        #expect(may(&s, 0, behind: true))
        s.roundEnded(full: true)
        #expect(may(&s, 0.1, behind: true))
        s.roundEnded(full: true)
        #expect(may(&s, 0.2, behind: true))
        s.roundEnded(full: false)
        #expect(!may(&s, 0.3, behind: true), "the next drain waits for the delay from the start of this one")
        #expect(may(&s, 10, behind: true))
    }

    @Test func aDelayOfZeroNeverHoldsBack() {
        var s = DrainSchedule(backlogDelay: 0)
        for t in stride(from: 0.0, to: 2, by: 0.25) {
            #expect(may(&s, t, behind: true))
            s.roundEnded(full: false)
        }
    }
}
