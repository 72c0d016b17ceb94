//! Pinning each worker thread to a CPU of its own (`[server] pin_workers`,
//! off by default).
//!
//! A worker's connections, send queues and topic shard are touched by its
//! thread alone, so the data it works on lives in one core's caches. When
//! the kernel moves the thread to another core those caches go cold.
//! Thread-per-core servers (Seastar, Glommio) pin for that reason, on
//! machines whose cores they own.
//!
//! A process rarely owns its cores: its affinity mask is usually every CPU
//! of a machine it shares with other programs (a database, a proxy, a load
//! generator). A pinned worker then cannot leave a core another process is
//! busy on, even while the other core idles, and the whole server waits on
//! its slowest worker. Measured on two cores shared with a single-threaded
//! load generator, a fan-out to 1 000 subscribers delivered 0.56–0.73× of
//! one worker's messages with two pinned workers and 0.76–0.97× with two
//! floating ones; chat was level. So workers float unless asked.
//!
//! When asked, workers are pinned only when they cover exactly the CPUs the
//! process may run on (its affinity mask, as `taskset` or a cpuset cgroup
//! sets it). With fewer workers than CPUs (`[server] workers = 2` on a
//! 16-core box, or a cgroup CPU quota smaller than the mask) the threads
//! float, because the kernel knows better than we do which cores other
//! processes are using.

/// The CPU each worker should run on, when workers are to be pinned.
#[cfg(target_os = "linux")]
pub(crate) fn plan(workers: usize) -> Option<Vec<usize>> {
    let allowed = match rustix::thread::sched_getaffinity(None) {
        Ok(allowed) => allowed,
        Err(error) => {
            tracing::debug!(target: "crosswire::server", %error, "cannot read the CPU affinity; workers are not pinned");
            return None;
        }
    };
    let cpus: Vec<usize> = (0..rustix::thread::CpuSet::MAX_CPU)
        .filter(|&cpu| allowed.is_set(cpu))
        .collect();
    (workers > 1 && cpus.len() == workers).then_some(cpus)
}

/// Workers are never pinned where the platform has no affinity call.
#[cfg(not(target_os = "linux"))]
pub(crate) fn plan(_workers: usize) -> Option<Vec<usize>> {
    None
}

/// Binds the calling thread to `cpu`. A failure (a cpuset changed since
/// [`plan`] read it) leaves the thread floating, which is only slower.
#[cfg(target_os = "linux")]
pub(crate) fn pin_current_thread(worker: usize, cpu: usize) {
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    match rustix::thread::sched_setaffinity(None, &set) {
        Ok(()) => tracing::debug!(target: "crosswire::server", worker, cpu, "worker pinned"),
        Err(error) => {
            tracing::debug!(target: "crosswire::server", worker, cpu, %error, "cannot pin the worker; it floats")
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn pin_current_thread(_worker: usize, _cpu: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn workers_are_pinned_only_when_they_cover_the_allowed_cpus() {
        let allowed = rustix::thread::sched_getaffinity(None).unwrap().count() as usize;
        assert_eq!(plan(1), None, "one worker runs on the server's runtime");
        if allowed > 1 {
            let cpus = plan(allowed).unwrap();
            assert_eq!(cpus.len(), allowed);
            assert!(cpus.windows(2).all(|pair| pair[0] < pair[1]));
            assert_eq!(plan(allowed - 1), None);
        }
        assert_eq!(plan(allowed + 1), None);
    }
}
