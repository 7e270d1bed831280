//! Loom models of the service protocol (`service::protocol`): a client and a server thread
//! passing calls through one entry, each side sleeping on its futex (no lost wake-up: loom's
//! futex only returns once woken), and a goal's response part written twice (accepted, then
//! finished) while its client reads it (never a mix of the two writes).

use crate::service::layout::{ClientSlot, ServerLine};
use crate::service::protocol::{
    self, Entry, GOAL_ACCEPTED, GOAL_SUCCEEDED, OP_CALL, RequestHead, STATUS_OK, token,
};
use crate::sync::AtomicU64;
use loom::sync::Arc;
use loom::thread;
use std::mem::MaybeUninit;

/// One client slot with one entry of two payload words per part.
struct Model {
    server: ServerLine,
    slot: ClientSlot,
    request: Vec<AtomicU64>,
    response: Vec<AtomicU64>,
}

impl Model {
    fn new() -> Arc<Model> {
        let words = || (0..7).map(|_| AtomicU64::new(0)).collect();
        Arc::new(Model {
            server: ServerLine::new(),
            slot: ClientSlot::new(),
            request: words(),
            response: words(),
        })
    }

    fn entry(&self) -> Entry<'_> {
        Entry { request: &self.request, response: &self.response, feedback: &[], feedback_words: 0 }
    }
}

fn bytes(x: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&x.to_ne_bytes());
    b[8..].copy_from_slice(&(!x).to_ne_bytes());
    b
}

fn words(buf: &[MaybeUninit<u8>; 16]) -> (u64, u64) {
    // SAFETY: called only after a read that copied the payload, which fills all 16 bytes.
    let b: [u8; 16] = unsafe { std::mem::transmute::<[MaybeUninit<u8>; 16], [u8; 16]>(*buf) };
    (u64::from_ne_bytes(b[..8].try_into().unwrap()), u64::from_ne_bytes(b[8..].try_into().unwrap()))
}

#[test]
fn loom_service_calls_and_answers_with_sleeping_ends() {
    loom::model(|| {
        let model = Model::new();
        let client = {
            let model = model.clone();
            thread::spawn(move || {
                let e = model.entry();
                let head = RequestHead { op: OP_CALL, client: 0, arg: 0, server_gen: 1 };
                // Two calls through the one entry: the second only once the first is answered.
                for n in 1..=2u64 {
                    let t = token(1, n);
                    e.write_request(t, &head, &bytes(n));
                    protocol::wake_server(&model.server);
                    let mut buf = [MaybeUninit::uninit(); 16];
                    let got = loop {
                        if let Some(h) = e.read_response(t, &mut buf) {
                            break h;
                        }
                        protocol::client_sleep(&model.slot, None, || {
                            e.response_version() & 1 == 0
                                && e.read_response(t, &mut [MaybeUninit::uninit(); 16]).is_some()
                        });
                    };
                    assert_eq!(got.status, STATUS_OK);
                    assert_eq!(words(&buf), (n * 10, !(n * 10)), "the answer of call {n}");
                }
            })
        };
        let e = model.entry();
        for n in 1..=2u64 {
            let t = token(1, n);
            let mut buf = [MaybeUninit::uninit(); 16];
            let head = loop {
                if let Some(h) = e.read_request(t, &mut buf) {
                    break h;
                }
                protocol::server_sleep(&model.server, None, || e.request_token() == t);
            };
            assert_eq!((head.op, head.server_gen), (OP_CALL, 1));
            assert_eq!(words(&buf), (n, !n), "request {n}");
            e.write_response(t, STATUS_OK, 0, 1, Some(&bytes(n * 10)));
            protocol::wake_client(&model.slot);
        }
        client.join().unwrap();
    });
}

#[test]
fn loom_service_goal_state_written_twice_is_never_read_torn() {
    loom::model(|| {
        let model = Model::new();
        let t = token(1, 1);
        let server = {
            let model = model.clone();
            thread::spawn(move || {
                let e = model.entry();
                e.write_response(t, GOAL_ACCEPTED, 0, 1, Some(&bytes(1)));
                e.write_response(t, GOAL_SUCCEEDED, 0, 1, Some(&bytes(2)));
            })
        };
        let e = model.entry();
        for _ in 0..2 {
            let mut buf = [MaybeUninit::uninit(); 16];
            if let Some(h) = e.read_response(t, &mut buf) {
                let want = if h.status == GOAL_ACCEPTED { 1 } else { 2 };
                assert!(h.status == GOAL_ACCEPTED || h.status == GOAL_SUCCEEDED);
                assert_eq!(words(&buf), (want, !want), "status and payload of one write");
            }
        }
        server.join().unwrap();
    });
}
