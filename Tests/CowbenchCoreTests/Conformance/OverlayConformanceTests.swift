import CowbenchCore
import Testing

extension KernelTests {
    @Suite struct OverlayConformance {
        @Test(arguments: ConformanceCase.allCases)
        func conforms(_ c: ConformanceCase) throws { try c.check(DriverFactory(OverlayDriver.self)) }

        @Test(arguments: [ConformanceCase.seedWalkthrough, .destroyFreesStorage, .deepStack500])
        func conformsWhenVolatile(_ c: ConformanceCase) throws {
            try c.check(DriverFactory(OverlayDriver.self, label: "overlay-volatile") {
                try OverlayDriver(root: $0, journal: $1, mountFlags: ["volatile"])
            })
        }
    }
}
