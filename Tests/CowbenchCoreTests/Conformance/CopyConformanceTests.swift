import CowbenchCore
import Testing

extension KernelTests {
    @Suite struct CopyConformance {
        @Test(arguments: ConformanceCase.allCases)
        func conforms(_ c: ConformanceCase) throws { try c.check(DriverFactory(CopyDriver.self)) }
    }
}
