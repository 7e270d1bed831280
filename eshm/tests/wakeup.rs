//! Waiting for many things at once: a subscriber's or a channel end's `Wakeup` is signalled by
//! the writer's next commit (and only then), `wait_any` returns for it or for its doorbell,
//! and dropping a wake-up withdraws its registration.

use eshm::channel::{Channel, Role};
use eshm::inspect;
use eshm::segment::SegmentKind;
use eshm::wait::{Doorbell, MAX_WAKEUP_WAIT, Wakeup, wait_any};
use eshm::{Publisher, Subscriber};
use std::sync::mpsc;
use std::time::Duration;

/// Patience for a thread that must finish (a hang fails the test after it, not before).
const PATIENCE: Duration = Duration::from_secs(120);

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/wakeup/{what}/{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Waits (on another thread) until one of `wakeups` is signalled; returns which.
fn first_signalled(wakeups: Vec<Wakeup>, bell: &Doorbell) -> usize {
    loop {
        let ticket = bell.ticket();
        if let Some(i) = wakeups.iter().position(Wakeup::is_signalled) {
            return i;
        }
        let refs: Vec<&Wakeup> = wakeups.iter().collect();
        wait_any(&refs, bell, ticket, MAX_WAKEUP_WAIT);
    }
}

#[test]
fn wakeup_of_a_subscriber_is_signalled_by_its_own_topic_only() {
    let (a, b) = (name("a"), name("b"));
    let mut pa = Publisher::<u64>::create(&a).unwrap();
    let mut pb = Publisher::<u64>::create(&b).unwrap();
    let mut sa = Subscriber::<u64>::open(&a).unwrap();
    let mut sb = Subscriber::<u64>::open(&b).unwrap();
    let wa = sa.wakeup().unwrap().expect("nothing there: a registration");
    let wb = sb.wakeup().unwrap().expect("nothing there: a registration");
    assert!(!wa.is_poll() && !wa.is_signalled() && !wb.is_signalled());
    // Registered readers show as asleep on their topic.
    let asleep = |n: &str| inspect::info(SegmentKind::Topic, n).unwrap().sleeping_reader_pids;
    assert_eq!(asleep(&b), [std::process::id()]);
    let bell = Doorbell::new();
    let (done, got) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| done.send(first_signalled(vec![wa, wb], &bell)).unwrap());
        pb.publish(&7).unwrap();
        assert_eq!(got.recv_timeout(PATIENCE).expect("the waiter woke"), 1, "topic b's");
    });
    // The wake-ups are dropped: nobody is registered any more.
    assert!(asleep(&a).is_empty() && asleep(&b).is_empty());
    assert_eq!(sb.try_recv().unwrap(), Some(7));
    assert_eq!(sa.try_recv().unwrap(), None);
    // With a message there, there is nothing to wait for.
    pa.publish(&1).unwrap();
    assert!(sa.wakeup().unwrap().is_none());
    // A topic that does not exist yet can only be polled.
    let mut missing = Subscriber::<u64>::open(&name("missing")).unwrap();
    assert!(missing.wakeup().unwrap().unwrap().is_poll());
}

#[test]
fn wakeup_doorbell_ends_a_wait_early() {
    let bell = Doorbell::new();
    let (done, finished) = mpsc::channel();
    let ticket = bell.ticket();
    std::thread::scope(|s| {
        s.spawn(|| {
            // Without the ring, this would sleep for an hour.
            wait_any(&[], &bell, ticket, Duration::from_secs(3600));
            done.send(()).unwrap();
        });
        bell.ring();
        finished.recv_timeout(PATIENCE).expect("the doorbell ended the wait");
    });
}

#[test]
fn wakeup_of_a_channel_end_is_signalled_by_the_other_end() {
    let n = name("channel");
    let master =
        Channel::builder(&n).role(Role::Master).capacity(1024).max_message(256).open().unwrap();
    let slave = Channel::open(&n, Role::Slave).unwrap();
    // A reader: registered while nothing is queued, signalled by a write.
    let reading = slave.read_wakeup().unwrap().expect("nothing queued");
    let bell = Doorbell::new();
    let (done, got) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| done.send(first_signalled(vec![reading], &bell)).unwrap());
        master.write(b"hello").unwrap();
        got.recv_timeout(PATIENCE).expect("the reader woke");
    });
    assert!(slave.read_wakeup().unwrap().is_none(), "a message is queued");
    assert_eq!(slave.try_read().unwrap().unwrap(), b"hello");
    // A writer: registered while the queue is full, signalled by a read.
    while master.try_write(&[0; 200]).is_ok() {}
    let writing = master.write_wakeup(200).unwrap().expect("no room");
    std::thread::scope(|s| {
        s.spawn(|| done.send(first_signalled(vec![writing], &bell)).unwrap());
        slave.read().unwrap();
        got.recv_timeout(PATIENCE).expect("the writer woke");
    });
    master.try_write(&[1; 200]).unwrap();
}

#[test]
fn wakeup_of_a_service_call_is_signalled_by_its_answer_or_the_server_closing() {
    use eshm::Message;
    use eshm::service::{RawClient, RawServer};
    use std::time::Instant;
    let n = name("service");
    let (req, res) = (u32::SCHEMA, u64::SCHEMA);
    let mut server = RawServer::create(&n, req, res).unwrap();
    let mut client = RawClient::open(&n, Some((req, res)), Default::default()).unwrap();
    let ticket = client.try_send(&7u32.to_le_bytes()).unwrap().expect("attached");
    let w = client.wakeup(ticket).unwrap().expect("no answer yet: a registration");
    assert!(!w.is_poll() && !w.is_signalled());
    let mut request = server.recv_timeout(PATIENCE).unwrap();
    assert!(!w.is_signalled(), "taking the request is no answer");
    request.respond(&70u64.to_le_bytes()).unwrap();
    assert!(w.is_signalled(), "the answer woke the registered client");
    drop((w, request)); // the request holds the server's core
    // Answered: nothing to wait for; the answer is taken without waiting.
    assert!(client.wakeup(ticket).unwrap().is_none());
    let mut response = Vec::new();
    assert_eq!(
        client.wait_until(ticket, None, Some(Instant::now()), &mut response).unwrap(),
        Some(())
    );
    assert_eq!(response, 70u64.to_le_bytes());
    // A server that closes wakes the calls waiting on it.
    let ticket = client.try_send(&8u32.to_le_bytes()).unwrap().expect("attached");
    let w = client.wakeup(ticket).unwrap().expect("a registration");
    drop(server);
    assert!(w.is_signalled(), "the closing server woke the registered client");
    assert!(client.wakeup(ticket).unwrap().is_none(), "a closed service: look now");
}
