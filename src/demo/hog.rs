//! The memory hog: enough memory, allocated and written page by page, that
//! the process's working set reaches a share of its container's memory
//! limit; given back when dropped.
//!
//! The region is a mapping of its own (mmap), not the allocator's: glibc
//! may keep freed heap memory for later, and then the resident set would
//! not fall back on restore. munmap hands the pages to the kernel at once.

use std::io;

use super::container::{page_size, working_set_bytes};

/// An anonymous mapping, every page written (so resident); unmapped on drop.
pub struct MemoryHog {
    region: *mut libc::c_void,
    len: usize,
}

// SAFETY: the region is only written while it is built, by the thread that
// builds it, and only unmapped after; moving the owner between threads
// moves nothing the region's pages depend on.
unsafe impl Send for MemoryHog {}

impl MemoryHog {
    /// Takes what the working set lacks to reach `target_bytes` (nothing if
    /// it is there already). `target_bytes` is bounded by the caller.
    pub fn reach(target_bytes: u64) -> io::Result<Self> {
        let page = page_size();
        let lacking = target_bytes.saturating_sub(working_set_bytes()?);
        let len = usize::try_from(lacking.div_ceil(page) * page)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "hog larger than memory"))?;
        if len == 0 {
            return Ok(MemoryHog {
                region: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh private anonymous mapping; no existing memory is
        // touched, and failure is checked before the pointer is used.
        let region = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if region == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let hog = MemoryHog { region, len };
        // Mapped pages are not resident until written: write one byte in
        // each (a read would map the shared zero page, which RSS ignores).
        let bytes = region.cast::<u8>();
        for offset in (0..len).step_by(page as usize) {
            // SAFETY: offset < len, inside the mapping made above.
            unsafe { bytes.add(offset).write_volatile(1) };
        }
        Ok(hog)
    }

    pub fn bytes(&self) -> u64 {
        self.len as u64
    }
}

impl Drop for MemoryHog {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: exactly the mapping `reach` made, unmapped once.
            unsafe { libc::munmap(self.region, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hog_is_resident_while_held_and_given_back_when_dropped() {
        let before = working_set_bytes().unwrap();
        let hog = MemoryHog::reach(before + (64 << 20)).unwrap();
        assert!(hog.bytes() >= 60 << 20, "{}", hog.bytes());
        let held = working_set_bytes().unwrap();
        assert!(held >= before + (60 << 20), "{before} → {held}");
        drop(hog);
        let after = working_set_bytes().unwrap();
        assert!(after < held - (56 << 20), "{held} → {after}");
        // Already there: nothing to take.
        assert_eq!(MemoryHog::reach(1).unwrap().bytes(), 0);
    }
}
