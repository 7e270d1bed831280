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

use super::{AtomicU64, Ordering};
use std::mem::MaybeUninit;

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
    let (head, tail) = dst.split_at_mut(full * 8);
    for (word, out) in src.iter().zip(head.chunks_exact_mut(8)) {
        let bytes = word.load(Ordering::Relaxed).to_ne_bytes();
        for (o, b) in out.iter_mut().zip(bytes) {
            o.write(b);
        }
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
    let mut chunks = src.chunks_exact(8);
    for (word, chunk) in dst.iter().zip(&mut chunks) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        word.store(u64::from_ne_bytes(b), Ordering::Relaxed);
    }
    let rest = chunks.remainder();
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
        for len in 0..40usize {
            let words: Vec<AtomicU64> =
                (0..words_for(len).max(1)).map(|_| AtomicU64::new(!0)).collect();
            let src: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(7).wrapping_add(1)).collect();
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
