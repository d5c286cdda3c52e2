//! The benchmark's child processes and what the kernel tells about them:
//! a guard that kills its child on drop (and a parent-death signal, so a
//! killed benchmark leaves no orphan), CPU time from the kernel's process
//! and thread CPU clocks, memory from `/proc`, and a description of the machine.

use super::BenchError;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running child process, killed and reaped when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    /// Starts `exe args...` with stdout and stderr going to `log`.
    pub fn spawn(
        name: &'static str,
        exe: &Path,
        args: &[String],
        log: PathBuf,
    ) -> Result<ChildGuard, BenchError> {
        let out = File::create(&log)
            .map_err(|e| BenchError::new(format!("creating {}: {e}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(|e| BenchError::new(format!("log of {name}: {e}")))?;
        let mut command = Command::new(exe);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(|e| BenchError::new(format!("starting {name} ({}): {e}", exe.display())))?;
        Ok(ChildGuard { name, child, log })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error naming the child and the end of its log if it has exited.
    pub fn check_alive(&mut self) -> Result<(), BenchError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(BenchError::new(format!(
                "{} exited ({status}); last log lines:\n{}",
                self.name,
                self.log_tail()
            ))),
            Err(e) => Err(BenchError::new(format!("{}: {e}", self.name))),
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // SIGKILL: nothing of the children's state needs a clean stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asks the kernel to kill the child when the process that spawned it
/// dies, so even a SIGKILLed benchmark leaves no fleet behind.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and only makes one
    // async-signal-safe system call; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Polls `ready` every 50 ms until it yields a value, the child exits, or
/// `limit` passes.
pub async fn wait_for<T, F, Fut>(
    child: &mut ChildGuard,
    what: &str,
    limit: Duration,
    mut ready: F,
) -> Result<T, BenchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = ready().await {
            return Ok(value);
        }
        child.check_alive()?;
        if started.elapsed() > limit {
            return Err(BenchError::new(format!(
                "{what}: not ready after {limit:?}; last log lines:\n{}",
                child.log_tail()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// CPU time (user + system) a process has used so far, threads that
/// have exited included: the kernel's process CPU clock (nanoseconds),
/// else `stat` ticks (10 ms). `None` where neither exists.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    process_clock(pid).or_else(|| stat_ticks(pid))
}

/// CPU time of the calling thread: a figure that a busy machine does not
/// inflate the way it inflates wall time.
#[cfg(target_os = "linux")]
pub fn thread_cpu_time() -> Option<Duration> {
    read_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

#[cfg(not(target_os = "linux"))]
pub fn thread_cpu_time() -> Option<Duration> {
    None
}

#[cfg(target_os = "linux")]
fn process_clock(pid: u32) -> Option<Duration> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: writes one clockid_t we own; fails cleanly for a bad pid.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    read_clock(clock)
}

#[cfg(not(target_os = "linux"))]
fn process_clock(_pid: u32) -> Option<Duration> {
    None
}

#[cfg(target_os = "linux")]
fn read_clock(clock: libc::clockid_t) -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec we own.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return None;
    }
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

fn stat_ticks(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after
    // the last ')'. utime and stime are fields 14 and 15 (1-based).
    let rest = text.get(text.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / clock_ticks(),
    ))
}

#[cfg(unix)]
fn clock_ticks() -> u64 {
    // SAFETY: sysconf reads a constant; no memory is involved.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0).unwrap_or(100)
}

#[cfg(not(unix))]
fn clock_ticks() -> u64 {
    100
}

/// Peak resident set size (`VmHWM`) of a process, in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// Current resident set size (`VmRSS`) of a process, in bytes.
pub fn rss(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The machine the figures come from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    /// `release` or `debug`: debug figures mean nothing.
    pub build: &'static str,
    pub nofile_limit: Option<u64>,
}

impl Machine {
    pub fn describe(nofile_limit: Option<u64>) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| std::env::consts::OS.to_string());
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            nofile_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_own_cpu_time_and_rss() {
        if !Path::new("/proc/self/stat").exists() {
            eprintln!("NOTE: no /proc; skipping");
            return;
        }
        let pid = std::process::id();
        let before = cpu_time(pid).expect("cpu time");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = cpu_time(pid).expect("cpu time");
        assert!(after > before, "{before:?} -> {after:?}");
        assert!(stat_ticks(pid).is_some());
        // Another process's clock too (the parent, always alive).
        assert!(cpu_time(std::os::unix::process::parent_id()).is_some());
        assert!(thread_cpu_time().expect("thread cpu") > Duration::ZERO);
        // The peak never falls below a resident size read before it.
        let resident = rss(pid).expect("rss");
        assert!(resident > 1024 * 1024);
        assert!(peak_rss(pid).expect("peak rss") >= resident);
    }
}
