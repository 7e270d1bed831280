//! Services within one process: calls and answers, several calls in flight, limits, types,
//! dropped requests, a server that closes or is replaced, and hostile segments. Behaviour
//! across processes (many clients, kills, restarts) is in `tests/service.rs` of `eshm-tests`.

use eshm::service::{CallError, Client, RawClient, RawServer, Server};
use eshm::{Error, Message, ServeError, WaitStrategy};
use std::time::{Duration, Instant};

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/service/{what}/{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct AddRequest {
    a: i64,
    b: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct AddResponse {
    sum: i64,
}

const SECOND: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(30);

/// Answers every request `server` gets until `count` are answered.
fn serve(server: &mut Server<AddRequest, AddResponse>, count: usize) {
    for _ in 0..count {
        let req = server.recv_timeout(LONG).unwrap();
        let sum = req.a + req.b;
        req.respond(&AddResponse { sum }).unwrap();
    }
}

#[test]
fn service_answers_each_call_of_each_client() {
    let n = name("answers");
    let mut server = Server::<AddRequest, AddResponse>::create(&n).unwrap();
    let clients: Vec<_> =
        (0..3).map(|_| Client::<AddRequest, AddResponse>::open(&n).unwrap()).collect();
    std::thread::scope(|s| {
        s.spawn(|| serve(&mut server, 3 * 200));
        for i in 0..200i64 {
            for (c, client) in clients.iter().enumerate() {
                let b = c as i64 * 1000;
                assert_eq!(client.call(&AddRequest { a: i, b }, LONG).unwrap().sum, i + b);
            }
        }
    });
    assert_eq!(server.served(), 600);
    assert_eq!(server.clients(), 3);
    assert_eq!(server.generation(), 1);
}

#[test]
fn service_several_calls_in_flight_get_their_own_answers_in_any_order() {
    let n = name("in-flight");
    let mut server =
        Server::<AddRequest, AddResponse>::builder(&n).max_in_flight(4).create().unwrap();
    let client = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let pending: Vec<_> =
        (0..4).map(|i| client.send(&AddRequest { a: i, b: 100 }).unwrap()).collect();
    // A fifth call is one too many.
    assert!(matches!(
        client.send(&AddRequest { a: 9, b: 9 }),
        Err(CallError::TooManyInFlight { max: 4, .. })
    ));
    // Take all four (putting each aside), answer them backwards.
    let mut requests: Vec<_> = (0..4)
        .map(|_| {
            let req = server.recv_timeout(SECOND).unwrap();
            (*req, req.defer())
        })
        .collect();
    assert_eq!(requests.iter().map(|(r, _)| r.a).collect::<Vec<_>>(), [0, 1, 2, 3], "in order");
    while let Some((req, id)) = requests.pop() {
        assert!(server.respond(id, &AddResponse { sum: req.a + req.b }).unwrap());
    }
    for (i, p) in pending.into_iter().enumerate() {
        assert_eq!(p.wait(SECOND).unwrap().sum, i as i64 + 100);
    }
    // The entries are free again.
    let p = client.send(&AddRequest { a: 1, b: 1 }).unwrap();
    serve(&mut server, 1);
    assert_eq!(p.wait(SECOND).unwrap().sum, 2);
}

#[test]
fn service_an_answer_not_yet_taken_keeps_its_entry() {
    let n = name("untaken");
    let mut server =
        Server::<AddRequest, AddResponse>::builder(&n).max_in_flight(2).create().unwrap();
    let client = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let first = client.send(&AddRequest { a: 1, b: 100 }).unwrap();
    let second = client.send(&AddRequest { a: 2, b: 100 }).unwrap();
    serve(&mut server, 2); // both answered, neither answer taken yet
    // A third call would need the first one's entry, whose answer nobody has taken.
    let err = client.send(&AddRequest { a: 3, b: 3 }).err().unwrap();
    assert!(matches!(err, CallError::TooManyInFlight { max: 2, .. }), "{err}");
    assert_eq!(first.wait(SECOND).unwrap().sum, 101);
    let third = client.send(&AddRequest { a: 3, b: 100 }).unwrap();
    // A dropped `Pending` gives its call up: its answer (there already) is discarded and its
    // entry goes to the next call.
    drop(second);
    let fourth = client.send(&AddRequest { a: 4, b: 100 }).unwrap();
    serve(&mut server, 2);
    assert_eq!(third.wait(SECOND).unwrap().sum, 103);
    assert_eq!(fourth.wait(SECOND).unwrap().sum, 104);
}

#[test]
fn service_timed_out_call_stays_in_flight_and_its_late_answer_is_discarded() {
    let n = name("late");
    let mut server =
        Server::<AddRequest, AddResponse>::builder(&n).max_in_flight(2).create().unwrap();
    let client = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let err = client.call(&AddRequest { a: 1, b: 1 }, Duration::from_millis(20)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The late answer to call 1, then call 2 answered: call 2 gets its own.
    let late = server.recv_timeout(SECOND).unwrap();
    late.respond(&AddResponse { sum: -1 }).unwrap();
    let p = client.send(&AddRequest { a: 2, b: 2 }).unwrap();
    serve(&mut server, 1);
    assert_eq!(p.wait(SECOND).unwrap().sum, 4);
    // Call 1's entry was freed when its answer came: two more calls fit.
    let p3 = client.send(&AddRequest { a: 3, b: 3 }).unwrap();
    let p4 = client.send(&AddRequest { a: 4, b: 4 }).unwrap();
    serve(&mut server, 2);
    assert_eq!((p3.wait(SECOND).unwrap().sum, p4.wait(SECOND).unwrap().sum), (6, 8));
}

#[test]
fn service_a_stuck_call_fills_the_window() {
    let n = name("stuck");
    let mut server =
        Server::<AddRequest, AddResponse>::builder(&n).max_in_flight(2).create().unwrap();
    let client = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let short = Duration::from_millis(5);
    assert!(client.call(&AddRequest { a: 1, b: 1 }, short).unwrap_err().is_timeout());
    let stuck = server.recv_timeout(SECOND).unwrap().defer();
    let p = client.send(&AddRequest { a: 2, b: 2 }).unwrap();
    serve(&mut server, 1);
    assert_eq!(p.wait(SECOND).unwrap().sum, 4);
    // Call 3 needs call 1's entry, whose answer has not come.
    let err = client.send(&AddRequest { a: 3, b: 3 }).err().unwrap();
    assert!(matches!(err, CallError::TooManyInFlight { max: 2, .. }), "{err}");
    assert!(server.respond(stuck, &AddResponse { sum: 2 }).unwrap(), "its client is there");
    let p = client.send(&AddRequest { a: 3, b: 3 }).unwrap();
    serve(&mut server, 1);
    assert_eq!(p.wait(SECOND).unwrap().sum, 6);
}

#[test]
fn service_dropped_request_fails_its_call_at_once() {
    let n = name("dropped");
    let mut server = Server::<AddRequest, AddResponse>::create(&n).unwrap();
    let client = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let p = client.send(&AddRequest { a: 1, b: 1 }).unwrap();
    drop(server.recv_timeout(SECOND).unwrap());
    let start = Instant::now();
    assert!(matches!(p.wait(LONG), Err(CallError::Dropped { .. })));
    assert!(start.elapsed() < LONG);
}

#[test]
fn service_second_server_and_too_many_clients_are_errors_with_facts() {
    let n = name("limits");
    let _server = Server::<AddRequest, AddResponse>::builder(&n).max_clients(2).create().unwrap();
    match Server::<AddRequest, AddResponse>::create(&n) {
        Err(Error::ServerExists { pid, .. }) => assert_eq!(pid, std::process::id()),
        other => panic!("{other:?}"),
    }
    let _a = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let b = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    match Client::<AddRequest, AddResponse>::open(&n) {
        Err(Error::TooManyClients { max: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
    // A client that leaves gives its slot back.
    drop(b);
    Client::<AddRequest, AddResponse>::open(&n).unwrap();
}

#[test]
fn service_type_mismatch_names_which_type_differs() {
    let n = name("types");
    let _server = Server::<AddRequest, AddResponse>::create(&n).unwrap();
    match Client::<AddRequest, u64>::open(&n) {
        Err(Error::TypeMismatch { expected, found, .. }) => {
            assert_eq!(
                (expected.as_str(), found.as_str()),
                ("u64 (response)", "AddResponse (response)")
            );
        }
        other => panic!("{other:?}"),
    }
    match Client::<u64, AddResponse>::open(&n) {
        Err(e @ Error::TypeMismatch { .. }) => assert!(e.to_string().contains("(request)"), "{e}"),
        other => panic!("{other:?}"),
    }
    // The untyped client takes any types and says which.
    let raw = RawClient::open(&n, None, Default::default()).unwrap();
    let (req, res) = raw.schemas().unwrap();
    assert_eq!((req.type_name(), res.type_name()), ("AddRequest".into(), "AddResponse".into()));
}

#[test]
fn service_call_waits_for_a_server_or_fails_fast_without() {
    let n = name("no-server");
    let client = Client::<u64, u64>::open(&n).unwrap();
    assert!(!client.is_server_connected());
    let err = client.call(&1, Duration::from_millis(30)).unwrap_err();
    assert!(matches!(err, CallError::NoServer { .. }), "{err}");
    let fast = Client::<u64, u64>::builder(&n).wait_for_server(false).open().unwrap();
    assert!(matches!(fast.call(&1, LONG), Err(CallError::NoServer { .. })));
    // A server that starts while a call waits for one answers it.
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            let mut server = Server::<u64, u64>::create(&n).unwrap();
            let req = server.recv_timeout(LONG).unwrap();
            let x = *req;
            req.respond(&(x + 1)).unwrap();
        });
        assert_eq!(client.call(&41, LONG).unwrap(), 42);
    });
}

#[test]
fn service_closed_server_fails_calls_in_flight_at_once_and_the_next_server_answers() {
    let n = name("closed");
    let server = Server::<u64, u64>::create(&n).unwrap();
    let client = Client::<u64, u64>::open(&n).unwrap();
    assert!(client.is_server_connected());
    let p = client.send(&1).unwrap();
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            drop(server);
        });
        assert!(matches!(p.wait(LONG), Err(CallError::ServerGone { .. })));
    });
    assert!(start.elapsed() < LONG);
    let spawned = Server::spawn(&n, |x: &u64| x * 10).unwrap();
    assert_eq!(client.call(&7, LONG).unwrap(), 70);
    assert_eq!(spawned.served(), 1);
    spawned.stop().unwrap();
}

#[test]
fn service_untyped_server_and_client_carry_bytes() {
    let n = name("raw");
    let (req, res) = (u32::SCHEMA, u64::SCHEMA);
    let mut server = RawServer::create(&n, req, res).unwrap();
    let mut client = RawClient::open(&n, Some((req, res)), Default::default()).unwrap();
    assert!(matches!(
        client.call(&[1, 2, 3], SECOND),
        Err(CallError::WrongSize { size: 4, given: 3, .. })
    ));
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut r = server.recv_timeout(LONG).unwrap();
            assert_eq!(r.bytes(), 7u32.to_le_bytes());
            assert!(matches!(
                r.respond(&[0; 3]),
                Err(ServeError::WrongSize { size: 8, given: 3, .. })
            ));
            r.respond(&70u64.to_le_bytes()).unwrap();
        });
        assert_eq!(client.call(&7u32.to_le_bytes(), LONG).unwrap(), 70u64.to_le_bytes());
    });
}

#[test]
fn service_invalid_messages_are_refused_on_both_sides() {
    let n = name("invalid");
    let mut server = RawServer::create(&n, u8::SCHEMA, bool::SCHEMA).unwrap();
    // The server's response type is `bool`: a `u8` client is refused at once.
    assert!(matches!(Client::<u8, u8>::open(&n), Err(Error::TypeMismatch { .. })));
    let mut client = RawClient::open(&n, None, Default::default()).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut r = server.recv_timeout(LONG).unwrap();
            assert!(matches!(r.respond(&[2]), Err(ServeError::InvalidMessage { .. })));
            assert!(!r.is_answered());
            r.respond(&[1]).unwrap();
        });
        assert_eq!(client.call(&[9], LONG).unwrap(), [1]);
    });
}

#[test]
fn service_spin_and_park_strategies_answer_too() {
    for wait in [WaitStrategy::Spin, WaitStrategy::Park] {
        let n = name("strategies");
        let server = Server::spawn(&n, |x: &u64| x + 1).unwrap();
        let client = Client::<u64, u64>::builder(&n).wait_strategy(wait).open().unwrap();
        for i in 0..100 {
            assert_eq!(client.call(&i, LONG).unwrap(), i + 1);
        }
        server.stop().unwrap();
    }
}

#[test]
fn service_server_waits_and_wakes_up_for_a_call() {
    let n = name("wake");
    let mut server =
        Server::<u64, u64>::builder(&n).wait_strategy(WaitStrategy::Park).create().unwrap();
    assert!(server.try_recv().unwrap().is_none());
    assert!(server.recv_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    std::thread::scope(|s| {
        s.spawn(|| {
            let client = Client::<u64, u64>::open(&n).unwrap();
            std::thread::sleep(Duration::from_millis(30));
            client.send(&5).unwrap().wait(LONG).unwrap()
        });
        let req = server.recv_timeout(LONG).unwrap();
        assert_eq!(*req, 5);
        req.respond(&6).unwrap();
    });
}

#[test]
fn service_segments_are_listed_with_their_clients() {
    let n = name("listed");
    let mut server = Server::<AddRequest, AddResponse>::create(&n).unwrap();
    let client = Client::<AddRequest, AddResponse>::open(&n).unwrap();
    let p = client.send(&AddRequest { a: 1, b: 2 }).unwrap();
    serve(&mut server, 1);
    p.wait(SECOND).unwrap();
    let info = eshm::inspect::info(eshm::segment::SegmentKind::Service, &n).unwrap();
    assert_eq!(info.problem, None);
    assert!(info.owner_alive);
    let details = info.service.unwrap();
    assert_eq!(details.schemas[0].type_name(), "AddRequest");
    assert_eq!((details.answered, details.received, details.live_clients()), (1, 1, 1));
    assert_eq!(details.clients[0].pid, std::process::id());
    let path = info.path;
    assert!(path.file_name().unwrap().to_str().unwrap().starts_with("eshm.svc."));
    drop(server);
    assert!(!path.exists(), "the server removes its name");
}

#[test]
fn service_hostile_geometry_is_corrupt_not_a_crash() {
    let n = name("hostile");
    let server = Server::<u64, u64>::builder(&n).unlink_on_drop(false).create().unwrap();
    let path = eshm::inspect::info(eshm::segment::SegmentKind::Service, &n).unwrap().path;
    drop(server);
    // Scribble over the service header (max_clients, entries, sizes, offsets).
    let mut bytes = std::fs::read(&path).unwrap();
    let body = u64::from_le_bytes(bytes[48..56].try_into().unwrap()) as usize;
    for (i, b) in bytes[body..body + 64].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) | 0x80;
    }
    // Make the segment look live again: this process as its owner.
    std::fs::write(&path, &bytes).unwrap();
    let info = eshm::inspect::info(eshm::segment::SegmentKind::Service, &n).unwrap();
    assert!(info.problem.is_some(), "{info:?}");
    std::fs::remove_file(&path).unwrap();
}
