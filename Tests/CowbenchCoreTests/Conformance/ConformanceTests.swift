import CowbenchCore
import Testing

extension KernelTests {
    /// Every case on every driver and variant of `DriverFactory.all`.
    @Suite struct Conformance {
        @Test(arguments: DriverFactory.all, ConformanceCase.allCases)
        func conforms(_ factory: DriverFactory, _ c: ConformanceCase) throws { try c.check(factory) }
    }
}
