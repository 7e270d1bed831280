//! Copies between process-local bytes and shared words that another process may be writing at
//! the same time.
//!
//! A seqlock reader copies a message while the writer may be overwriting it; the copy is then
//! discarded if the sequence number moved. Even a discarded copy must not be a data race in the
//! language's sense, so the shared side is only ever accessed through relaxed atomic word loads
//! and stores (the approach of iceoryx2's `ByteAtomic` and of the `atomic-memcpy` proposal; a
//! plain or volatile read of racing memory is undefined behaviour, as crossbeam's `AtomicCell`
//! documentation admits). On x86-64 and AArch64 a relaxed 64-bit load or store is an ordinary
//! `mov`/`ldr`/`str`, so this costs nothing over `memcpy` for small messages.
//!
//! Every shared buffer is a whole number of 8-byte words (slots are padded), so both helpers
//! move whole words and never mix access sizes on one location.
//!
//! Word loads and stores cannot be vectorised, which halves the speed of large copies. From
//! [`ASM_COPY_MIN`] bytes on x86-64, both sides therefore copy with `rep movsb` in inline
//! assembly instead: the copy is then performed by the processor outside Rust's abstract
//! machine (an `asm!` block acts like a call to an unknown function), where x86-64 makes every
//! byte access single-copy atomic, so a racing copy yields some mix of old and new bytes,
//! never undefined behaviour, and the seqlock check discards it. A topic's payload size is
//! fixed, so both sides of one topic always take the same path.

use super::{AtomicU64, Ordering};
use std::mem::MaybeUninit;

/// Payloads from this size up are copied with `rep movsb` on x86-64 (see the module docs).
pub(crate) const ASM_COPY_MIN: usize = 512;

#[cfg(all(target_arch = "x86_64", not(loom)))]
#[inline(always)]
/// Copies `len` bytes from `src` to `dst` with `rep movsb`. The bytes may be written
/// concurrently by another process (see module docs).
///
/// # Safety
///
/// `src` valid for reads and `dst` for writes of `len` bytes; the ranges must not overlap.
pub(crate) unsafe fn movsb(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: the caller guarantees both ranges; `rep movsb` moves `rcx` bytes from `[rsi]`
    // to `[rdi]` forwards (the direction flag is clear by the ABI), touches no stack and keeps
    // the flags.
    unsafe {
        std::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rsi") src => _,
            inout("rdi") dst => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Number of 8-byte words that hold `bytes` bytes.
pub(crate) const fn words_for(bytes: usize) -> usize {
    bytes.div_ceil(8)
}

/// Fills `dst` from the first `dst.len()` bytes of `src` with relaxed atomic loads. The result
/// may be torn (a mix of two writes); the caller validates it before trusting it.
///
/// # Panics
///
/// If `src` has fewer than `words_for(dst.len())` words.
#[inline(always)]
pub(crate) fn load(src: &[AtomicU64], dst: &mut [MaybeUninit<u8>]) {
    let full = dst.len() / 8;
    let src = &src[..words_for(dst.len())];
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    if dst.len() >= ASM_COPY_MIN {
        // SAFETY: `src` holds at least `dst.len()` bytes (sliced above), `dst` is valid for
        // `dst.len()` writes, and a process-local buffer cannot overlap shared memory.
        unsafe { movsb(dst.as_mut_ptr().cast::<u8>(), src.as_ptr().cast::<u8>(), dst.len()) };
        return;
    }
    let (head, tail) = dst.split_at_mut(full * 8);
    for (i, word) in src[..full].iter().enumerate() {
        // SAFETY: `head` has `full * 8` bytes, so byte `8 * i` is in bounds for `i < full`.
        let out = unsafe { head.as_mut_ptr().add(8 * i) }.cast::<u64>();
        // SAFETY: `out` points to 8 writable bytes of `head`; the write needs no alignment and
        // `MaybeUninit<u8>` accepts any value.
        unsafe { out.write_unaligned(word.load(Ordering::Relaxed)) };
    }
    if !tail.is_empty() {
        let bytes = src[full].load(Ordering::Relaxed).to_ne_bytes();
        for (o, b) in tail.iter_mut().zip(bytes) {
            o.write(b);
        }
    }
}

/// Writes `src` into the first bytes of `dst` with relaxed atomic stores; the unused bytes of
/// the last word are zeroed.
///
/// # Panics
///
/// If `dst` has fewer than `words_for(src.len())` words.
#[inline(always)]
pub(crate) fn store(dst: &[AtomicU64], src: &[u8]) {
    let dst = &dst[..words_for(src.len())];
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    if src.len() >= ASM_COPY_MIN {
        // Zero the tail of the last word first, as the word path does.
        if !src.len().is_multiple_of(8) {
            dst[dst.len() - 1].store(0, Ordering::Relaxed);
        }
        // SAFETY: `dst` holds at least `src.len()` bytes (sliced above) and is written only
        // through atomics or this copy; shared memory cannot overlap a process-local `src`.
        unsafe { movsb(dst.as_ptr().cast::<u8>().cast_mut(), src.as_ptr(), src.len()) };
        return;
    }

    let full = src.len() / 8;
    for (i, word) in dst[..full].iter().enumerate() {
        // SAFETY: `src` has at least `8 * i + 8` bytes for `i < full = src.len() / 8`, so the
        // pointer stays in bounds.
        let at = unsafe { src.as_ptr().add(8 * i) }.cast::<u64>();
        // SAFETY: `at` points to 8 readable bytes of `src`; `read_unaligned` needs no alignment.
        word.store(unsafe { at.read_unaligned() }, Ordering::Relaxed);
    }
    let rest = &src[full * 8..];

    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        dst[dst.len() - 1].store(u64::from_ne_bytes(b), Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn torn_copy_round_trips_every_length() {
        for len in (0..40usize).chain(ASM_COPY_MIN - 9..ASM_COPY_MIN + 9) {
            let words: Vec<AtomicU64> =
                (0..words_for(len).max(1)).map(|_| AtomicU64::new(!0)).collect();
            let src: Vec<u8> =
                (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(1)).collect();

            store(&words, &src);
            let mut dst = vec![MaybeUninit::<u8>::uninit(); len];
            load(&words, &mut dst);
            // SAFETY: `load` wrote every byte of `dst`.
            let dst: Vec<u8> = dst.iter().map(|b| unsafe { b.assume_init() }).collect();
            assert_eq!(dst, src, "length {len}");
            if len % 8 != 0 {
                let last = words[words_for(len) - 1].load(Ordering::Relaxed).to_ne_bytes();
                assert!(last[len % 8..].iter().all(|&b| b == 0), "tail zeroed for length {len}");
            }
        }
    }
}

/// The bytes of `buf`, which a copy out of shared memory (or a receive) has filled.
///
/// # Safety
///
/// Every byte of `buf` must be initialised.
pub(crate) unsafe fn assume_init_vec(buf: Vec<MaybeUninit<u8>>) -> Vec<u8> {
    // SAFETY: the caller guarantees every byte is initialised. (The collect reuses the
    // allocation: same element size and alignment.)
    buf.into_iter().map(|b| unsafe { b.assume_init() }).collect()
}
