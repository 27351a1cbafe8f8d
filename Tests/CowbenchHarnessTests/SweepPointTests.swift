import CowbenchCore
@testable import CowbenchHarness
import Testing

@Suite struct SweepPointTests {
    @Test func pointsAreTheCrossProductAndReshapeTheImage() throws {
        let points = Sweep.points([try Sweep.parameter("layers=1,5"), try Sweep.parameter("parallel=1,2,4")])
        #expect(points.count == 6)
        #expect(points.map { $0.map(\.value) } == [["1", "1"], ["1", "2"], ["1", "4"], ["5", "1"], ["5", "2"], ["5", "4"]])
        var c = RunConfiguration(driver: "overlay")
        c.image = "synthetic:layers=3,files=10"
        let applied = try Sweep.apply([("layers", "7"), ("parallel", "2"), ("live", "5")], to: c)
        #expect(applied.image == "synthetic:files=10,layers=7")
        #expect(applied.parallel == 2 && applied.keep && applied.instances == 5)
        #expect(throws: SetupError.self) { try Sweep.parameter("depth=1,2") }
        #expect(throws: SetupError.self) { try Sweep.parameter("layers=0,2") }
        c.image = "seed-demo"
        #expect(throws: SetupError.self) { try Sweep.apply([("files", "3")], to: c) }
    }
}
