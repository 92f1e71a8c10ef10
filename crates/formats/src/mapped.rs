//! Releasing the pages of a read-only file mapping once they have been read: a
//! reader that streams a large file tensor by tensor then keeps its resident memory
//! near one tensor instead of growing to the size of the file.

use std::ops::Range;

use memmap2::Mmap;

/// Drop this process's resident pages of `range` of `map` (an advice: a failure
/// changes nothing but the memory held, so it is ignored).
pub fn release_pages(map: &Mmap, range: Range<usize>) {
    #[cfg(unix)]
    // SAFETY: the mapping is read-only and backed by a file; MADV_DONTNEED only drops
    // this process's resident copy of the pages, and the next read of the range
    // faults the same bytes in from the file again.
    unsafe {
        let _ = map.unchecked_advise_range(
            memmap2::UncheckedAdvice::DontNeed,
            range.start,
            range.len(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_pages_read_back_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let bytes: Vec<u8> = (0..3 * 4096u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: read-only mapping of a file this test alone writes.
        let map = unsafe { Mmap::map(&file) }.unwrap();
        assert_eq!(&map[..], &bytes[..]);
        release_pages(&map, 100..9000);
        assert_eq!(&map[..], &bytes[..]);
    }
}
