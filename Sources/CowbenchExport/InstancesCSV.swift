import CowbenchHarness

/// `instances.csv`: one row per instance, with the run's environment on
/// every row so files from many hosts can be concatenated.
public enum InstancesCSV {
    public static let columns = EnvironmentFields.runColumns + [
        "instance", "round", "probe", "create_s", "start_s", "run_s", "destroy_s", "total_s", "cgroup_join_s",
        "instance_bytes", "instance_inodes", "driver_usage_bytes", "driver_usage_inodes", "fs_used_bytes", "fs_free_bytes",
        "btrfs_data_used", "btrfs_data_total", "btrfs_meta_used", "btrfs_meta_total", "btrfs_system_used", "btrfs_system_total",
        "btrfs_global_reserve", "btrfs_unallocated", "memory_bytes", "page_cache_bytes", "added_memory_bytes", "run_memory_bytes", "error_phase", "errno", "error",
    ]

    public static func header() -> String { CSVEncoding.encode([columns]) }

    public static func row(_ r: InstanceResult, _ env: RunEnvironment) -> String {
        typealias E = CSVEncoding
        let b = r.btrfs
        return E.encode([EnvironmentFields.run(env) + [
            "\(r.index)", "\(r.round)", r.probe ? "1" : "0",
            E.seconds(r.create), E.seconds(r.start), E.seconds(r.run), E.seconds(r.destroy), E.seconds(r.total), E.seconds(r.cgroupJoin),
            E.number(r.addedBytes), E.number(r.addedInodes), E.number(r.usage?.bytes), E.number(r.usage?.inodes),
            E.number(r.filesystem?.usedBytes), E.number(r.filesystem?.availableBytes),
            E.number(b?.dataUsed), E.number(b?.dataTotal), E.number(b?.metadataUsed), E.number(b?.metadataTotal),
            E.number(b?.systemUsed), E.number(b?.systemTotal), E.number(b?.globalReserveTotal), E.number(b?.unallocated),
            E.number(r.memoryBytes), E.number(r.pageCacheBytes), E.number(r.addedMemory), E.number(r.runMemoryBytes),
            r.error?.phase.rawValue ?? "", r.error?.errno ?? "", r.error?.message ?? "",
        ]])
    }
}

enum EnvironmentFields {
    static let columns = ["run_id", "host", "kernel", "driver", "image", "workload", "mode", "fs_type", "mount_options", "cowbench_version"]
    /// How a run was measured, so reruns and sweep points never merge.
    static let runColumns = columns + ["rounds", "block", "seed", "parallel", "warmup", "usage_every", "isolation",
                                       "cold", "memory_cgroup", "loop_direct_io", "labels"]

    static func of(_ e: RunEnvironment) -> [String] {
        [e.runID, e.host, e.kernel, e.driver, e.image, e.workload, e.mode, e.filesystem, e.mountOptions, e.cowbenchVersion]
    }

    static func run(_ e: RunEnvironment) -> [String] {
        of(e) + ["\(e.rounds)", "\(e.block)", "\(e.seed)", "\(e.parallel)", "\(e.warmup)", "\(e.usageEvery)", e.isolation,
                   e.cold ? "1" : "0", e.memoryCgroup, e.loopDirectIO ? "1" : "0", e.labels]
    }
}
