import CowbenchCore
import Testing

extension KernelTests {
    @Suite struct BtrfsConformance {
        @Test(arguments: ConformanceCase.allCases)
        func conforms(_ c: ConformanceCase) throws { try c.check(DriverFactory(BtrfsDriver.self)) }
    }
}
