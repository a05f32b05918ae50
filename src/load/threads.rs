//! How many load threads a phase runs on. Each thread is a shard with its
//! own event loop and its own share of the phase's requests (see `engine`).
//!
//! A target on the same machine needs a core to answer: a generator that
//! takes every core competes with it, and both sleep and wake far more often
//! per request than either would alone. So by default the engine leaves it
//! one: all cores but one when the target's address is this machine's
//! (loopback, or an address one of its interfaces holds), all cores
//! otherwise; at least one, at most `MAX_AUTO`, never more than connections.

use std::net::{IpAddr, SocketAddr};

/// More threads than this are never chosen by default: past it, the
/// target, not the generator, is the limit on any machine we know.
const MAX_AUTO: usize = 8;

/// The thread count asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Threads {
    /// All cores, one fewer when the target is on this machine.
    #[default]
    Auto,
    /// As many as asked (`--threads N`), never more than connections.
    Exactly(u32),
}

impl Threads {
    /// The threads a phase with `connections` connections to `addr` runs on.
    pub fn count(self, addr: SocketAddr, connections: usize) -> usize {
        let threads = match self {
            Threads::Exactly(n) => n as usize,
            Threads::Auto => {
                let cores = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1);
                by_default(cores, is_this_machine(addr.ip()))
            }
        };
        threads.min(connections).max(1)
    }
}

fn by_default(cores: usize, target_here: bool) -> usize {
    let threads = if target_here {
        cores.saturating_sub(1)
    } else {
        cores
    };
    threads.clamp(1, MAX_AUTO)
}

/// Loopback, or an address of this machine's own interfaces: binding a
/// socket to an address succeeds only where an interface holds it.
fn is_this_machine(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || std::net::UdpSocket::bind((ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_on_this_machine_is_left_a_core() {
        assert_eq!(by_default(2, true), 1);
        assert_eq!(by_default(1, true), 1, "at least one");
        assert_eq!(by_default(2, false), 2);
        assert_eq!(by_default(64, false), MAX_AUTO);
        assert!(is_this_machine("127.0.0.1".parse().unwrap()));
        assert!(is_this_machine("::1".parse().unwrap()));
        // TEST-NET-1 (RFC 5737): never an address of this machine.
        assert!(!is_this_machine("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn never_more_threads_than_connections() {
        let addr: SocketAddr = "192.0.2.1:80".parse().unwrap();
        assert_eq!(Threads::Exactly(4).count(addr, 2), 2);
        assert_eq!(Threads::Exactly(3).count(addr, 32), 3);
        let here: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(Threads::Auto.count(here, 1), 1);
    }
}
