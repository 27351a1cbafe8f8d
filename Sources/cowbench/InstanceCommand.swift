import ArgumentParser
import CowbenchCore

struct InstanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "instance", abstract: "Create, list and destroy instances to look inside by hand.",
        subcommands: [Create.self, List.self, Destroy.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create one instance and leave it in place; prints its id and rootfs path.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var placement: DriverRootOptions
        @Option(help: "Storage driver: \(DriverRegistry.names.joined(separator: ", ")).") var driver: String
        @Option(help: "Image: busybox, seed-demo, synthetic[:k=v,...], dir:/layer0,/layer1, or a name from `cowbench image list`.") var image = "busybox"

        func validate() throws { try validateDriverName(driver, flag: "--driver") }

        func run() throws {
            try global.requirePrivilege()
            try Preflight.requireWritable(global.stateDirectory, flag: "--state-dir")
            let store = InstanceStore(stateDirectory: global.stateDirectory)
            let instance = try store.create(driver: driver, image: image, root: placement.root,
                                            scratchSize: placement.scratchBytes)
            print("\(instance.id)\t\(instance.rootfs)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the instances that exist.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let all = try InstanceStore(stateDirectory: global.stateDirectory).list()
            if all.isEmpty { print("no instances"); return }
            print("ID            DRIVER   IMAGE        ROOTFS")
            for i in all { print("\(i.id.padding(14))\(i.driver.padding(9))\(i.image.padding(13))\(i.rootfs)") }
        }
    }

    struct Destroy: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy an instance, or all of them.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The instance id.") var id: String?
        @Flag(help: "Destroy every instance.") var all = false

        func validate() throws {
            if (id == nil) == !all { throw ValidationError("give an instance id or --all, not both or neither") }
        }

        func run() throws {
            try global.requirePrivilege()
            let store = InstanceStore(stateDirectory: global.stateDirectory)
            if all {
                for i in try store.destroyAll() { print("destroyed \(i.id)") }
            } else if let id {
                try store.destroy(id: id)
                print("destroyed \(id)")
            }
        }
    }
}
