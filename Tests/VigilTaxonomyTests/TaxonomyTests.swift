import Testing
import VigilTaxonomy

@Suite struct RiskTaxonomyTests {
    @Test func twentyNineRisksWithStableIDs() {
        #expect(Risk.all.count == 29)
        #expect(Set(Risk.all.map(\.id)).count == 29)
        #expect(Risk.all.filter { $0.group == "A.1" }.count == 8)
        #expect(Risk.all.filter { $0.group == "A.2" }.count == 9)
        #expect(Risk.all.filter { $0.group == "A.3" }.count == 5)
        #expect(Risk.all.filter { $0.group == "A.4" }.count == 7)
        #expect(Risk.named("A.2.e")?.zh == "性别歧视")
        #expect(Risk.named("A.5.a") == nil)
    }

    @Test(arguments: [
        ("A.1.a", IncidentSubtype.illegal), ("A.1.d", .illegal), ("A.1.h", .illegal), ("A.1.g", .falseHarmful),
        ("A.2.a", .discrimination), ("A.2.e", .discrimination), ("A.2.i", .discrimination),
        ("A.3.a", .rights), ("A.3.e", .rights), ("A.4.a", .incitement), ("A.4.b", .rights), ("A.4.g", .rights),
    ])
    func defaultSubtype(id: String, subtype: IncidentSubtype) {
        #expect(Risk.named(id)?.defaultSubtype == subtype)
        #expect(subtype.incidentClass == .content)
    }

    @Test func subtypesBelongToTheirClasses() {
        #expect(IncidentSubtype.leak.incidentClass == .data)
        #expect(IncidentSubtype.poisoning.incidentClass == .data)
        #expect(IncidentSubtype.denialOfService.incidentClass == .attack)
        #expect(IncidentSubtype.socialEngineering.incidentClass == .attack)
        #expect(IncidentSubtype.other.incidentClass == .other)
        #expect(AttackKind.promptInjection.subtype == .socialEngineering)
        #expect(AttackKind.sqli.subtype == .vulnerabilityExploit)
    }
}

@Suite struct GradingTests {
    // Table 1 of SPEC §3, row by row.
    @Test(arguments: [
        (Importance.critical, BusinessLoss.critical, Level.one), (.critical, .serious, .two),
        (.critical, .major, .three),
        (.critical, .minor, .three), (.important, .critical, .two), (.important, .serious, .three),
        (.important, .major, .three), (.important, .minor, .four), (.ordinary, .critical, .three),
        (.ordinary, .serious, .three), (.ordinary, .major, .three), (.ordinary, .minor, .four),
    ])
    func businessLossTable(importance: Importance, loss: BusinessLoss, level: Level) {
        #expect(Grading.level(importance: importance, businessLoss: loss) == level)
    }

    // Table 2 of SPEC §3; nil where the table grades nothing.
    @Test(arguments: [
        (Importance.critical, SocialHarm.critical, Level?.some(.one)), (.critical, .serious, .two),
        (.critical, .major, .three),
        (.critical, .ordinary, nil), (.important, .critical, nil), (.important, .serious, .two),
        (.important, .major, .three), (.important, .ordinary, .four), (.ordinary, .critical, nil),
        (.ordinary, .serious, nil), (.ordinary, .major, .three), (.ordinary, .ordinary, .four),
    ])
    func socialHarmTable(importance: Importance, harm: SocialHarm, level: Level?) {
        #expect(Grading.level(importance: importance, socialHarm: harm) == level)
    }

    @Test func moreSevereOfTheTwoWins() {
        // important: loss minor → 4, harm serious → 2: the result is 2.
        #expect(Grading.level(importance: .important, businessLoss: .minor, socialHarm: .serious) == .two)
        // critical: loss critical → 1, harm major → 3: the result is 1.
        #expect(Grading.level(importance: .critical, businessLoss: .critical, socialHarm: .major) == .one)
        // a combination table 2 does not grade leaves table 1's answer.
        #expect(Grading.level(importance: .ordinary, businessLoss: .minor, socialHarm: .critical) == .four)
        #expect(Grading.level(importance: .ordinary, businessLoss: nil, socialHarm: .critical) == nil)
        #expect(Grading.level(importance: .important, businessLoss: nil, socialHarm: .serious) == .two)
    }

    @Test func guideWorkedCases() {
        // Discrimination case: ordinary service, ordinary harm → level 4.
        #expect(Grading.level(importance: .ordinary, businessLoss: nil, socialHarm: .ordinary) == .four)
        // Drug X case: important service, serious harm → level 2.
        #expect(Grading.level(importance: .important, businessLoss: nil, socialHarm: .serious) == .two)
    }

    @Test func levelsCompareBySeverity() {
        #expect(Level.one > Level.two)
        #expect(Level.four < Level.three)
        #expect(max(Level.three, Level.two) == .two)
    }
}

@Suite struct ResponseTests {
    @Test func policyPerLevel() {
        #expect(ResponsePolicy.forLevel(.one).immediate == [.restrictFunctions])
        #expect(ResponsePolicy.forLevel(.one).ifNeeded == [.takeOffline])
        #expect(ResponsePolicy.forLevel(.two).ifNeeded == [.takeOffline])
        #expect(ResponsePolicy.forLevel(.three).immediate == [.restrictFunctions])
        #expect(ResponsePolicy.forLevel(.three).ifNeeded.isEmpty)
        #expect(ResponsePolicy.forLevel(.four).immediate == [.localFix])
        #expect(ResponsePolicy.forLevel(.four).ifNeeded == [.restrictFunctions])
    }

    @Test func immediateReportBoundaries() {
        let rule = ReportRule()
        #expect(rule.requiresImmediateReport(level: .three, occurrencesInWindow: 5, affectedUsers: 10_001))
        #expect(!rule.requiresImmediateReport(level: .three, occurrencesInWindow: 4, affectedUsers: 10_001))
        #expect(!rule.requiresImmediateReport(level: .three, occurrencesInWindow: 5, affectedUsers: 10_000))
        #expect(!rule.requiresImmediateReport(level: .four, occurrencesInWindow: 50, affectedUsers: 50_000))
        #expect(rule.requiresImmediateReport(level: .one, occurrencesInWindow: 5, affectedUsers: 10_001))
    }
}
