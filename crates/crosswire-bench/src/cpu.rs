//! CPU time of the server process, from `/proc/<pid>/stat`.
//!
//! Delivered messages per second depend on how the cores are shared with the
//! load generator; CPU time per delivered message does not, so it is the
//! figure that compares one server layout with another on a small machine.

use std::time::Duration;

/// Clock ticks per second of `/proc` times: `USER_HZ`, 100 on every Linux
/// architecture's user-space ABI.
const TICKS_PER_SECOND: u64 = 100;

/// User plus system CPU time of every thread of `pid`, living or ended.
pub(crate) fn cpu_time(pid: u32) -> Result<Duration, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    // The command name may hold spaces and parentheses: fields start after
    // the last `)`. utime and stime are fields 14 and 15 of the whole line,
    // so the 12th and 13th after the name.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("unexpected /proc/{pid}/stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| -> Result<u64, String> {
        fields
            .get(index)
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| format!("unexpected /proc/{pid}/stat"))
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_millis(total * 1000 / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_cpu_time() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {
            std::hint::black_box(0);
        }
        assert!(cpu_time(std::process::id()).unwrap() > Duration::ZERO);
    }
}
