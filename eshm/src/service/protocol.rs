//! The request/response protocol on one entry, and the sleep/wake handshakes, without I/O (the
//! [module docs](super) give the design and the argument for its correctness).
//!
//! - A **request** is written by its client into the entry's request part: header words and
//!   payload first (relaxed), then the call's token with Release. The server, which knows the
//!   token it expects next, loads the token with Acquire, copies the request out, and checks
//!   the token again after an Acquire fence (a client that rewrote the entry meanwhile broke
//!   the protocol: its request is ignored).
//! - A **response** is written by the server into the entry's response part under a seqlock
//!   (version odd while writing), because an action's goal is answered twice (accepted, then
//!   finished). The client copies it out when the version is even and the token is its call's,
//!   and keeps it only if the version did not move meanwhile.
//! - **Feedback** goes to one of the entry's feedback slots, each a seqlock whose word also
//!   holds the goal's tag and the feedback's number (the scheme of the topic ring).
//! - **Sleeping**: the server sleeps on `ServerLine::futex`, a client on its slot's futex.
//!   Each registers in a `waiters` word, issues a `SeqCst` fence, and looks for work once more
//!   before sleeping; the other side publishes (Release), issues a `SeqCst` fence, then loads
//!   `waiters` and wakes only if it is non-zero (the store-load pattern of Dekker's algorithm,
//!   as in `ring` and `queue`): no lost wake-up, and no system call when nobody sleeps.

use super::layout::{
    ClientSlot, FB_PAYLOAD, FB_SEQ, REQ_ARG, REQ_CANCEL, REQ_OP, REQ_PAYLOAD, REQ_SERVER_GEN,
    REQ_TOKEN, RES_ARG, RES_PAYLOAD, RES_SERVER_GEN, RES_STATUS, RES_TOKEN, RES_VERSION,
    ServerLine,
};
use crate::sync::{AtomicU64, Ordering, fence, futex, torn};
use std::mem::MaybeUninit;
use std::time::Duration;

/// Request operation: a service call.
pub(crate) const OP_CALL: u32 = 1;
/// Request operation: an action's goal.
pub(crate) const OP_GOAL: u32 = 2;

/// Response status: the call's answer (with a payload).
pub(crate) const STATUS_OK: u32 = 1;
/// Response status: the server dropped the request without answering it.
pub(crate) const STATUS_DROPPED: u32 = 2;
/// Goal status: the server accepted the goal and works on it.
pub(crate) const GOAL_ACCEPTED: u32 = 16;
/// Goal status: the server rejected the goal.
pub(crate) const GOAL_REJECTED: u32 = 17;
/// Goal status: finished, successfully.
pub(crate) const GOAL_SUCCEEDED: u32 = 18;
/// Goal status: finished, unsuccessfully.
pub(crate) const GOAL_ABORTED: u32 = 19;
/// Goal status: finished after its client asked to cancel it.
pub(crate) const GOAL_CANCELED: u32 = 20;
/// Response flag: a payload follows the header.
pub(crate) const HAS_PAYLOAD: u32 = 1;

/// The token of call `n` (from 1) of the claim `generation` of a client slot: the low 32 bits
/// of each. Never 0 for `n % 2^32 != 0`, and it tells apart every call of one claim within 2^32
/// calls and the calls of successive claims of a slot within 2^32 claims.
#[inline(always)]
pub(crate) const fn token(generation: u64, n: u64) -> u64 {
    ((generation as u32 as u64) << 32) | (n as u32 as u64)
}

/// A 32-bit tag of the goal with `token`, for its feedback slots.
#[inline(always)]
pub(crate) const fn goal_tag(token: u64) -> u32 {
    (token as u32) ^ ((token >> 32) as u32).wrapping_mul(0x9e37_79b9)
}

/// The feedback slot word of feedback number `i` (from 1) of goal `tag`: complete, or being
/// written. Numbers wrap at 2^31, far beyond any goal's feedback.
#[inline(always)]
pub(crate) const fn feedback_seq(tag: u32, i: u64, writing: bool) -> u64 {
    let low = (i as u32).wrapping_mul(2).wrapping_sub(writing as u32);
    ((tag as u64) << 32) | low as u64
}

/// The header of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RequestHead {
    pub(crate) op: u32,
    /// The client's slot index, as the client wrote it.
    pub(crate) client: u32,
    pub(crate) arg: u64,
    pub(crate) server_gen: u64,
}

/// The header of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponseHead {
    pub(crate) status: u32,
    /// Whether the payload was copied out.
    pub(crate) has_payload: bool,
    pub(crate) arg: u64,
    pub(crate) server_gen: u64,
}

/// What [`Entry::read_feedback`] found in the slot of the feedback it waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeedbackRead {
    /// Not written yet (or being written): look again later.
    NotYet,
    /// Copied out.
    Got,
    /// Overwritten by a later one: feedback up to (not including) this number is lost; read
    /// that one next.
    Lost(u64),
}

/// One entry of a client slot: its request part, response part and feedback slots.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) request: &'a [AtomicU64],
    pub(crate) response: &'a [AtomicU64],
    /// `depth * feedback_words` words (none for services).
    pub(crate) feedback: &'a [AtomicU64],
    /// Words per feedback slot.
    pub(crate) feedback_words: usize,
}

/// `buf` as a destination for copies out of shared memory.
pub(crate) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `u8` and `MaybeUninit<u8>` have the same size and alignment, and the copies made
    // into the result (`torn::load`) write only initialised bytes, so `buf` stays initialised.
    unsafe { &mut *(std::ptr::from_mut(buf) as *mut [MaybeUninit<u8>]) }
}

impl Entry<'_> {
    // ---------------------------------------------------------------------------------------
    // Requests.

    /// Client: writes a request and publishes it under `token`.
    pub(crate) fn write_request(&self, token: u64, head: &RequestHead, payload: &[u8]) {
        let q = self.request;
        q[REQ_OP].store(u64::from(head.op) | u64::from(head.client) << 32, Ordering::Relaxed);
        q[REQ_ARG].store(head.arg, Ordering::Relaxed);
        q[REQ_SERVER_GEN].store(head.server_gen, Ordering::Relaxed);
        q[REQ_CANCEL].store(0, Ordering::Relaxed);
        torn::store(&q[REQ_PAYLOAD..], payload);
        // SYNC POINT: publishes the request; pairs with the Acquire load in `read_request`.
        q[REQ_TOKEN].store(token, Ordering::Release);
    }

    /// Server: the token of the request in the entry now (a cheap look before
    /// [`read_request`](Self::read_request)).
    #[inline(always)]
    pub(crate) fn request_token(&self) -> u64 {
        self.request[REQ_TOKEN].load(Ordering::Relaxed)
    }

    /// Server: copies out the request published under `token` (`payload` gets exactly its
    /// length), or `None` if the entry does not hold it (or its client rewrote it meanwhile).
    pub(crate) fn read_request(
        &self,
        token: u64,
        payload: &mut [MaybeUninit<u8>],
    ) -> Option<RequestHead> {
        let q = self.request;
        // SYNC POINT: pairs with the Release store in `write_request`.
        if q[REQ_TOKEN].load(Ordering::Acquire) != token {
            return None;
        }
        let op = q[REQ_OP].load(Ordering::Relaxed);
        let head = RequestHead {
            op: op as u32,
            client: (op >> 32) as u32,
            arg: q[REQ_ARG].load(Ordering::Relaxed),
            server_gen: q[REQ_SERVER_GEN].load(Ordering::Relaxed),
        };
        torn::load(&q[REQ_PAYLOAD..], payload);
        // The copy above happens before the re-check (as in a seqlock reader).
        fence(Ordering::Acquire);
        (q[REQ_TOKEN].load(Ordering::Relaxed) == token).then_some(head)
    }

    /// Client: asks the server to cancel the goal with `token` held in this entry.
    pub(crate) fn request_cancel(&self, token: u64) {
        // Pairs with the Acquire load in `cancel_requested`.
        self.request[REQ_CANCEL].store(token, Ordering::Release);
    }

    /// Server: whether the client asked to cancel the goal with `token`.
    pub(crate) fn cancel_requested(&self, token: u64) -> bool {
        self.request[REQ_CANCEL].load(Ordering::Acquire) == token
    }

    // ---------------------------------------------------------------------------------------
    // Responses.

    /// Server: writes the response to the call (or the state of the goal) with `token`. Only
    /// one thread writes an entry's response part at a time (the server serialises them per
    /// client slot).
    pub(crate) fn write_response(
        &self,
        token: u64,
        status: u32,
        arg: u64,
        server_gen: u64,
        payload: Option<&[u8]>,
    ) {
        let r = self.response;
        let version = r[RES_VERSION].load(Ordering::Relaxed) & !1;
        r[RES_VERSION].store(version.wrapping_add(1), Ordering::Relaxed);
        // The odd version is visible before any of the writes below (pairs with the Acquire
        // fence in `read_response`).
        fence(Ordering::Release);
        r[RES_TOKEN].store(token, Ordering::Relaxed);
        let flags = if payload.is_some() { HAS_PAYLOAD } else { 0 };
        r[RES_STATUS].store(u64::from(status) | u64::from(flags) << 32, Ordering::Relaxed);
        r[RES_ARG].store(arg, Ordering::Relaxed);
        r[RES_SERVER_GEN].store(server_gen, Ordering::Relaxed);
        if let Some(payload) = payload {
            torn::store(&r[RES_PAYLOAD..], payload);
        }
        // SYNC POINT: publishes the response; pairs with the Acquire load in `read_response`.
        r[RES_VERSION].store(version.wrapping_add(2), Ordering::Release);
    }

    /// Client: copies out the response to the call with `token` if it is there (`payload`
    /// gets its bytes when [`ResponseHead::has_payload`]); `None` if it is not there yet, or
    /// if the server was writing it (look again).
    pub(crate) fn read_response(
        &self,
        token: u64,
        payload: &mut [MaybeUninit<u8>],
    ) -> Option<ResponseHead> {
        let r = self.response;
        // SYNC POINT: pairs with the Release store of the even version in `write_response`.
        let version = r[RES_VERSION].load(Ordering::Acquire);
        if version & 1 == 1 || r[RES_TOKEN].load(Ordering::Relaxed) != token {
            return None;
        }
        let status = r[RES_STATUS].load(Ordering::Relaxed);
        let has_payload = (status >> 32) as u32 & HAS_PAYLOAD != 0;
        let head = ResponseHead {
            status: status as u32,
            has_payload,
            arg: r[RES_ARG].load(Ordering::Relaxed),
            server_gen: r[RES_SERVER_GEN].load(Ordering::Relaxed),
        };
        if has_payload {
            torn::load(&r[RES_PAYLOAD..], payload);
        }
        fence(Ordering::Acquire);
        (r[RES_VERSION].load(Ordering::Relaxed) == version).then_some(head)
    }

    /// Client: the response part's version (it moves on every write).
    #[inline(always)]
    pub(crate) fn response_version(&self) -> u64 {
        self.response[RES_VERSION].load(Ordering::Relaxed)
    }

    // ---------------------------------------------------------------------------------------
    // Feedback.

    fn feedback_slot(&self, i: u64) -> &[AtomicU64] {
        let depth = (self.feedback.len() / self.feedback_words.max(1)) as u64;
        let at = (i % depth.max(1)) as usize * self.feedback_words;
        &self.feedback[at..at + self.feedback_words]
    }

    /// Whether the entry has feedback slots.
    pub(crate) fn has_feedback(&self) -> bool {
        self.feedback_words > 0 && !self.feedback.is_empty()
    }

    /// Server: writes feedback number `i` (from 1) of the goal `tag` into its slot,
    /// overwriting the one `depth` numbers before it.
    pub(crate) fn write_feedback(&self, tag: u32, i: u64, payload: &[u8]) {
        let slot = self.feedback_slot(i);
        slot[FB_SEQ].store(feedback_seq(tag, i, true), Ordering::Relaxed);
        // Pairs with the Acquire fence in `read_feedback`.
        fence(Ordering::Release);
        torn::store(&slot[FB_PAYLOAD..], payload);
        // SYNC POINT: pairs with the Acquire load in `read_feedback`.
        slot[FB_SEQ].store(feedback_seq(tag, i, false), Ordering::Release);
    }

    /// Client: copies out feedback number `i` of the goal `tag` if it is there.
    pub(crate) fn read_feedback(
        &self,
        tag: u32,
        i: u64,
        payload: &mut [MaybeUninit<u8>],
    ) -> FeedbackRead {
        let slot = self.feedback_slot(i);
        // SYNC POINT: pairs with the Release store in `write_feedback`.
        let seq = slot[FB_SEQ].load(Ordering::Acquire);
        if (seq >> 32) as u32 != tag {
            return FeedbackRead::NotYet;
        }
        let want = feedback_seq(tag, i, false) as u32;
        let low = seq as u32;
        // Distances as signed 32-bit numbers, so that numbers may wrap.
        match low.wrapping_sub(want) as i32 {
            0 => {}
            d if d > 0 => {
                // Overwritten by number j = low / 2, a multiple of `depth` later: everything
                // up to j - depth was overwritten too.
                let depth = (self.feedback.len() / self.feedback_words.max(1)) as u64;
                let j = i.wrapping_add((d as u64).div_ceil(2));
                return FeedbackRead::Lost(j.wrapping_sub(depth).wrapping_add(1).max(i + 1));
            }
            _ => return FeedbackRead::NotYet,
        }
        torn::load(&slot[FB_PAYLOAD..], payload);
        fence(Ordering::Acquire);
        if slot[FB_SEQ].load(Ordering::Relaxed) == seq {
            FeedbackRead::Got
        } else {
            FeedbackRead::NotYet
        }
    }

    /// Client: the feedback slot word of number `i` (a cheap poll).
    #[inline(always)]
    pub(crate) fn feedback_word(&self, i: u64) -> u64 {
        if self.has_feedback() { self.feedback_slot(i)[FB_SEQ].load(Ordering::Relaxed) } else { 0 }
    }
}

// -------------------------------------------------------------------------------------------
// Sleeping and waking.

/// Client: wakes the server if it is asleep (after publishing a request).
#[inline(always)]
pub(crate) fn wake_server(line: &ServerLine) {
    // Store-load barrier between the request's token and `waiters`: pairs with the SeqCst
    // fence in `server_sleep`.
    fence(Ordering::SeqCst);
    if line.waiters.load(Ordering::Relaxed) != 0 {
        futex::bump_and_wake(&line.futex);
    }
}

/// Server: sleeps until a client wakes it or `timeout` passes, unless `has_work` (called after
/// registering) finds a request.
pub(crate) fn server_sleep(
    line: &ServerLine,
    timeout: Option<Duration>,
    has_work: impl FnOnce() -> bool,
) {
    let ticket = line.futex.load(Ordering::Acquire);
    line.waiters.fetch_add(1, Ordering::Relaxed);
    // Pairs with the SeqCst fence in `wake_server`.
    fence(Ordering::SeqCst);
    if !has_work() {
        futex::wait(&line.futex, ticket, timeout);
    }
    line.waiters.fetch_sub(1, Ordering::Relaxed);
}

/// Server: wakes the client of `slot` if it is asleep (after writing a response or
/// feedback). Returns how many threads woke, or `None` if nobody was registered asleep.
#[inline(always)]
pub(crate) fn wake_client(slot: &ClientSlot) -> Option<u32> {
    // Pairs with the SeqCst fence in `client_sleep`.
    fence(Ordering::SeqCst);
    (slot.waiters.load(Ordering::Relaxed) != 0).then(|| futex::bump_and_wake(&slot.futex))
}

/// Client: sleeps until the server wakes it or `timeout` passes, unless `ready` (called after
/// registering) finds what it waits for.
pub(crate) fn client_sleep(
    slot: &ClientSlot,
    timeout: Option<Duration>,
    ready: impl FnOnce() -> bool,
) {
    let ticket = slot.futex.load(Ordering::Acquire);
    slot.waiters.fetch_add(1, Ordering::Relaxed);
    // Pairs with the SeqCst fence in `wake_client`.
    fence(Ordering::SeqCst);
    if !ready() {
        futex::wait(&slot.futex, ticket, timeout);
    }
    slot.waiters.fetch_sub(1, Ordering::Relaxed);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn words(n: usize) -> Vec<AtomicU64> {
        (0..n).map(|_| AtomicU64::new(0)).collect()
    }

    fn init(buf: Vec<MaybeUninit<u8>>) -> Vec<u8> {
        // SAFETY: called only on buffers that a read filled completely.
        unsafe { torn::assume_init_vec(buf) }
    }

    #[test]
    fn service_tokens_tell_calls_and_claims_apart() {
        assert_ne!(token(1, 1), 0);
        assert_ne!(token(1, 1), token(2, 1));
        assert_ne!(token(1, 1), token(1, 2));
        assert_eq!(token(1, 1 + (1 << 32)), token(1, 1), "call numbers wrap at 2^32");
        assert_ne!(goal_tag(token(1, 5)), goal_tag(token(2, 5)));
        assert_eq!(feedback_seq(7, 3, false) >> 32, 7);
        assert_eq!(feedback_seq(7, 3, false) as u32, 6);
        assert_eq!(feedback_seq(7, 3, true) as u32, 5);
    }

    #[test]
    fn service_entry_carries_a_request_and_its_response() {
        let (req, res) = (words(8), words(8));
        let e = Entry { request: &req, response: &res, feedback: &[], feedback_words: 0 };
        let head = RequestHead { op: OP_CALL, client: 3, arg: 9, server_gen: 2 };
        let t = token(4, 1);
        let mut buf = vec![MaybeUninit::uninit(); 12];
        assert_eq!(e.read_request(t, &mut buf), None, "nothing published yet");
        e.write_request(t, &head, b"hello world!");
        assert_eq!(e.request_token(), t);
        assert_eq!(e.read_request(token(4, 2), &mut buf), None, "another call's token");
        assert_eq!(e.read_request(t, &mut buf), Some(head));
        assert_eq!(init(buf), b"hello world!");

        let mut out = vec![MaybeUninit::uninit(); 5];
        assert_eq!(e.read_response(t, &mut out), None);
        e.write_response(token(3, 1), STATUS_OK, 0, 2, Some(b"stale"));
        assert_eq!(e.read_response(t, &mut out), None, "an answer to another claim");
        e.write_response(t, STATUS_OK, 0, 2, Some(b"reply"));
        let got = e.read_response(t, &mut out).unwrap();
        assert_eq!((got.status, got.has_payload, got.server_gen), (STATUS_OK, true, 2));
        assert_eq!(init(out), b"reply");
        e.write_response(t, STATUS_DROPPED, 0, 2, None);
        let got = e.read_response(t, &mut []).unwrap();
        assert_eq!((got.status, got.has_payload), (STATUS_DROPPED, false));
        assert_eq!(e.response_version(), 6, "three writes, each two steps");

        // A version left odd (a write in progress) is never read.
        res[RES_VERSION].store(7, Ordering::Relaxed);
        assert_eq!(e.read_response(t, &mut []), None);

        assert!(!e.cancel_requested(t));
        e.request_cancel(t);
        assert!(e.cancel_requested(t));
        assert!(!e.cancel_requested(token(4, 2)));
        e.write_request(token(4, 2), &head, b"");
        assert!(!e.cancel_requested(t), "a new request clears the cancel word");
    }

    #[test]
    fn service_feedback_slots_count_what_was_overwritten() {
        // Four slots of one payload word.
        let fb = words(8);
        let e = Entry { request: &[], response: &[], feedback: &fb, feedback_words: 2 };
        let tag = goal_tag(token(1, 1));
        let mut buf = [MaybeUninit::uninit(); 8];
        assert_eq!(e.read_feedback(tag, 1, &mut buf), FeedbackRead::NotYet);
        for i in 1..=3u64 {
            e.write_feedback(tag, i, &(i * 100).to_le_bytes());
        }
        assert_eq!(e.read_feedback(tag, 1, &mut buf), FeedbackRead::Got);
        let got = init(buf.to_vec());
        assert_eq!(u64::from_le_bytes(got.try_into().unwrap()), 100);
        assert_eq!(e.read_feedback(tag, 4, &mut buf), FeedbackRead::NotYet);
        assert_eq!(e.read_feedback(goal_tag(token(1, 2)), 1, &mut buf), FeedbackRead::NotYet);
        for i in 4..=10u64 {
            e.write_feedback(tag, i, &(i * 100).to_le_bytes());
        }
        // Number 2 is in slot 2, overwritten by 6 and then 10: 2..=6 are lost, 7 is next.
        assert_eq!(e.read_feedback(tag, 2, &mut buf), FeedbackRead::Lost(7));
        assert_eq!(e.read_feedback(tag, 7, &mut buf), FeedbackRead::Got);
    }
}
