//! Loom models of the message pool: a reader that keeps a message in place while the writer
//! goes on never sees its block rewritten, and giving back the hold slots of dead holders
//! races neither a live reader's hold nor the writer. Threads stand in for processes (the
//! cross-process behaviour, with real crashes, is tested in `tests/zero_copy.rs`).

use crate::layout::{HoldSlot, REGISTERING, WriterLine};
use crate::ring::messages::{Hold, Messages};
use crate::ring::pool::{Desc, Holder, PoolView, WriterBlocks};
use crate::ring::{Read, RingView};
use crate::sync::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;

/// One ring slot (a sequence word and a descriptor), `holds` hold slots and
/// `1 + holds + 1` one-word blocks.
struct Model {
    writer: WriterLine,
    slots: Vec<AtomicU64>,
    holds: Vec<HoldSlot>,
    blocks: Vec<AtomicU64>,
}

impl Model {
    fn new(holds: usize) -> Arc<Model> {
        Arc::new(Model {
            writer: WriterLine::new(),
            slots: (0..2).map(|_| AtomicU64::new(0)).collect(),
            holds: (0..holds).map(|_| HoldSlot::new()).collect(),
            blocks: (0..holds + 2).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn pool(&self) -> PoolView<'_> {
        PoolView { holds: &self.holds, blocks: &self.blocks, block_words: 1 }
    }

    fn messages(&self) -> Messages<'_> {
        let ring = RingView {
            writer: &self.writer,
            slots: &self.slots,
            slot_words: 2,
            payload_word: 1,
            mask: 0,
        };
        Messages { ring, pool: Some(self.pool()), max: 8, slice: false }
    }
}

const READER: Holder = Holder { pid: 7, start_time: 70 };

/// The writer: messages `1..=count`, each in a block holding its number.
fn write(model: &Model, count: u64) {
    let mut blocks = WriterBlocks::new(model.blocks.len(), 1);
    let msgs = model.messages();
    let pool = model.pool();
    for n in 1..=count {
        let b = blocks.take(&pool);
        pool.block(b)[0].store(n, Ordering::Relaxed);
        msgs.commit_pooled(n, Desc { len: 8, block: b });
        blocks.placed(msgs.ring.slot_index(n), b);
    }
}

/// A reader that tries to keep each message once; returns how many it kept. A kept block
/// must hold its message's number for as long as it is held.
fn hold_each(model: &Model, count: u64) -> u64 {
    let msgs = model.messages();
    let pool = model.pool();
    let mut kept = 0;
    for n in 1..=count {
        if let Read::Done(Hold::Held { hold, desc }) = msgs.hold(&pool, n, READER) {
            let first = pool.block(desc.block)[0].load(Ordering::Relaxed);
            thread::yield_now();
            let second = pool.block(desc.block)[0].load(Ordering::Relaxed);
            assert_eq!((first, second), (n, n), "held block {} was rewritten", desc.block);
            pool.release(hold);
            kept += 1;
        }
    }
    kept
}

#[test]
fn loom_pool_a_held_block_is_never_rewritten() {
    loom::model(|| {
        let model = Model::new(1);
        // The writer reuses the block of message 1 for message 3 (the most recently freed
        // block first, and there are three), and again later.
        let reader = {
            let model = model.clone();
            thread::spawn(move || hold_each(&model, 2))
        };
        write(&model, 4);
        reader.join().unwrap();
        // Every hold was given back.
        assert!(!model.pool().any_held());
        // After the writer is done, the newest message can always be kept.
        assert_eq!(hold_each_last(&model, 4), 1);
    });
}

fn hold_each_last(model: &Model, n: u64) -> u64 {
    let msgs = model.messages();
    let pool = model.pool();
    match msgs.hold(&pool, n, READER) {
        Read::Done(Hold::Held { hold, desc }) => {
            assert_eq!(pool.block(desc.block)[0].load(Ordering::Relaxed), n);
            pool.release(hold);
            1
        }
        _ => 0,
    }
}

#[test]
fn loom_pool_reclaiming_a_dead_holder_races_no_live_hold() {
    loom::model(|| {
        // Hold slot 0 is held by a dead process (pid 99) keeping block 2.
        let model = Model::new(2);
        let dead = &model.holds[0];
        dead.owner.store(1 << 32 | 99, Ordering::Relaxed);
        dead.start_time.store(990, Ordering::Relaxed);
        dead.block.store(3, Ordering::Relaxed);
        let reclaimer = {
            let model = model.clone();
            thread::spawn(move || model.pool().reclaim_dead(|pid, _| pid == READER.pid))
        };
        let reader = {
            let model = model.clone();
            thread::spawn(move || hold_each(&model, 1))
        };
        write(&model, 4);
        assert_eq!(reclaimer.join().unwrap(), 1, "the dead holder's slot, once");
        reader.join().unwrap();
        assert!(!model.pool().any_held());
        assert!(
            model.holds.iter().all(|h| h.owner.load(Ordering::Relaxed) as u32 & !REGISTERING == 0)
        );
    });
}
