//! Loom model of a channel's record queue: a producer and a consumer thread, records of
//! different sizes that wrap around a small data area, a producer that sleeps for space and a
//! consumer that sleeps for data (no lost wake-up: loom's futex only returns once woken).

use crate::layout::QueueHeader;
use crate::queue::{Push, QueueView};
use crate::sync::AtomicU64;
use loom::sync::Arc;
use loom::thread;
use std::mem::MaybeUninit;

struct Model {
    header: QueueHeader,
    data: Vec<AtomicU64>,
}

impl Model {
    fn view(&self) -> QueueView<'_> {
        QueueView { header: &self.header, data: &self.data, max_message: 8 }
    }
}

/// Payload `i`: `len(i)` bytes, each `i + 1`.
fn payload(i: u8) -> Vec<u8> {
    vec![i + 1; [0usize, 5, 8][i as usize]]
}

#[test]
fn loom_queue_delivers_records_in_order_across_wrap_with_sleeping_ends() {
    loom::model(|| {
        // 32 bytes: records of 8 (empty), 16 and 16 bytes, so the third one wraps.
        let model = Arc::new(Model {
            header: QueueHeader::new(),
            data: (0..4).map(|_| AtomicU64::new(0)).collect(),
        });
        let consumer = {
            let model = model.clone();
            thread::spawn(move || {
                let q = model.view();
                for i in 0..3u8 {
                    let record = loop {
                        match q.peek().expect("consistent queue") {
                            Some(r) => break r,
                            None => q.wait_for_data(None),
                        }
                    };
                    let mut buf = vec![MaybeUninit::<u8>::uninit(); record.len];
                    q.copy(&record, &mut buf);
                    // SAFETY: `copy` initialised all `record.len` bytes.
                    let got: Vec<u8> =
                        buf.into_iter().map(|b| unsafe { b.assume_init() }).collect();
                    assert_eq!(got, payload(i), "record {i}");
                    if q.consume(&record) {
                        q.wake_producer();
                    }
                }
            })
        };
        let q = model.view();
        for i in 0..3u8 {
            let data = payload(i);
            loop {
                match q.try_push(&data).expect("consistent queue") {
                    Push::Written(sleeper) => {
                        if sleeper {
                            q.wake_consumer();
                        }
                        break;
                    }
                    Push::Full => q.wait_for_space(crate::queue::record_size(data.len()), None),
                }
            }
        }
        consumer.join().unwrap();
    });
}
