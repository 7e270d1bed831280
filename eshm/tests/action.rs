//! Actions within one process: accept, reject, feedback in order, cancel, abort, several
//! goals and clients, and a server that closes. Across processes (a killed server) see
//! `tests/service.rs` of `eshm-tests`.

use eshm::action::{ActionClient, ActionServer, GoalStatus};
use eshm::{CallError, Error};
use std::time::{Duration, Instant};

#[allow(clippy::disallowed_types)] // a process-local counter, not shared memory
fn name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("eshm-test/action/{what}/{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Where to go (goal), where it got (result), where it is (feedback).
type Server = ActionServer<f64, f64, f64>;
type Client = ActionClient<f64, f64, f64>;

const SECOND: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(30);

#[test]
fn action_accepted_goal_streams_feedback_in_order_then_its_result() {
    let n = name("accept");
    let mut server = Server::create(&n).unwrap();
    let mut client = Client::open(&n).unwrap();
    let goal = client.send_goal(&5.0).unwrap();
    assert_eq!(client.status(goal).unwrap(), GoalStatus::Pending);
    let request = server.recv_goal_timeout(SECOND).unwrap();
    assert_eq!(*request, 5.0);
    let mut active = request.accept().unwrap();
    assert_eq!(client.status(goal).unwrap(), GoalStatus::Active);
    for i in 1..=5 {
        active.publish_feedback(&f64::from(i)).unwrap();
    }
    assert_eq!(client.latest_feedback(goal).unwrap(), Some(5.0));
    for i in 1..=5 {
        assert_eq!(client.next_feedback(goal, SECOND).unwrap(), Some(f64::from(i)));
    }
    assert!(client.next_feedback(goal, Duration::from_millis(10)).unwrap_err().is_timeout());
    active.succeed(&5.0).unwrap();
    let outcome = client.wait_for_result(goal, SECOND).unwrap();
    assert_eq!((outcome.status, outcome.result), (GoalStatus::Succeeded, Some(5.0)));
    assert_eq!(client.next_feedback(goal, SECOND).unwrap(), None, "ended, all taken");
    assert_eq!(client.feedback_lost(goal), 0);
}

#[test]
fn action_rejected_goal_ends_the_wait_at_once() {
    let n = name("reject");
    let mut server = Server::create(&n).unwrap();
    let mut client = Client::open(&n).unwrap();
    let goal = client.send_goal(&-1.0).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            server.recv_goal_timeout(LONG).unwrap().reject().unwrap();
        });
        let start = Instant::now();
        let outcome = client.wait_for_result(goal, LONG).unwrap();
        assert_eq!((outcome.status, outcome.result), (GoalStatus::Rejected, None));
        assert!(start.elapsed() < LONG);
    });
    // A dropped goal request is rejected too.
    let goal = client.send_goal(&-2.0).unwrap();
    drop(server.recv_goal_timeout(SECOND).unwrap());
    assert_eq!(client.wait_for_result(goal, LONG).unwrap().status, GoalStatus::Rejected);
}

#[test]
fn action_cancel_is_seen_and_acknowledged() {
    let n = name("cancel");
    let mut server = Server::create(&n).unwrap();
    let mut client = Client::open(&n).unwrap();
    let goal = client.send_goal(&100.0).unwrap();
    let active = server.recv_goal_timeout(SECOND).unwrap().accept().unwrap();
    assert!(!active.is_cancel_requested());
    client.cancel(goal).unwrap();
    assert!(active.is_cancel_requested());
    active.canceled(&42.0).unwrap();
    let outcome = client.wait_for_result(goal, SECOND).unwrap();
    assert_eq!((outcome.status, outcome.result), (GoalStatus::Canceled, Some(42.0)));
    // Canceling an ended goal does nothing.
    client.cancel(goal).unwrap();
}

#[test]
fn action_aborted_goal_ends_the_wait_at_once_with_or_without_a_result() {
    let n = name("abort");
    let mut server = Server::create(&n).unwrap();
    let mut client = Client::open(&n).unwrap();
    let g1 = client.send_goal(&1.0).unwrap();
    let g2 = client.send_goal(&2.0).unwrap();
    let a1 = server.recv_goal_timeout(SECOND).unwrap().accept().unwrap();
    let a2 = server.recv_goal_timeout(SECOND).unwrap().accept().unwrap();
    a1.abort(&0.5).unwrap();
    drop(a2); // dropped unfinished: aborted, without a result
    let r1 = client.wait_for_result(g1, SECOND).unwrap();
    let r2 = client.wait_for_result(g2, SECOND).unwrap();
    assert_eq!((r1.status, r1.result), (GoalStatus::Aborted, Some(0.5)));
    assert_eq!((r2.status, r2.result), (GoalStatus::Aborted, None));
}

#[test]
fn action_two_clients_with_several_goals_each_get_their_own_results() {
    let n = name("many");
    let mut server = Server::create(&n).unwrap();
    let mut clients = [Client::open(&n).unwrap(), Client::open(&n).unwrap()];
    let mut goals = Vec::new();
    for (c, client) in clients.iter_mut().enumerate() {
        for g in 0..3 {
            let target = (c * 10 + g) as f64;
            goals.push((c, client.send_goal(&target).unwrap(), target));
        }
    }
    // Work on all six at once, finishing them in reverse order, with feedback each.
    let mut active: Vec<_> =
        (0..6).map(|_| server.recv_goal_timeout(SECOND).unwrap().accept().unwrap()).collect();
    for a in &mut active {
        let half = **a / 2.0;
        a.publish_feedback(&half).unwrap();
    }
    while let Some(a) = active.pop() {
        let target = *a;
        a.succeed(&(target + 0.25)).unwrap();
    }
    for (c, goal, target) in goals {
        let client = &mut clients[c];
        assert_eq!(client.next_feedback(goal, SECOND).unwrap(), Some(target / 2.0));
        let outcome = client.wait_for_result(goal, SECOND).unwrap();
        assert_eq!((outcome.status, outcome.result), (GoalStatus::Succeeded, Some(target + 0.25)));
    }
}

#[test]
fn action_slow_client_counts_lost_feedback() {
    let n = name("lost");
    let mut server = ActionServer::<f64, f64, f64>::builder(&n).feedback_depth(4).create().unwrap();
    let mut client = Client::open(&n).unwrap();
    let goal = client.send_goal(&0.0).unwrap();
    let mut active = server.recv_goal_timeout(SECOND).unwrap().accept().unwrap();
    for i in 1..=10 {
        active.publish_feedback(&f64::from(i)).unwrap();
    }
    // Slots hold 7..=10; 1..=6 are gone.
    assert_eq!(client.next_feedback(goal, SECOND).unwrap(), Some(7.0));
    assert_eq!(client.feedback_lost(goal), 6);
    active.succeed(&1.0).unwrap();
    let rest: Vec<_> = std::iter::from_fn(|| client.next_feedback(goal, SECOND).unwrap()).collect();
    assert_eq!(rest, [8.0, 9.0, 10.0]);
}

#[test]
fn action_closed_server_ends_waits_and_is_not_connected() {
    let n = name("closed");
    let server = Server::create(&n).unwrap();
    let mut client = Client::open(&n).unwrap();
    assert!(client.is_server_connected());
    let goal = client.send_goal(&1.0).unwrap();
    // The server closes before it takes the goal (goals it took keep it open: a killed
    // server is in the multi-process tests).
    let _ = server.name();
    drop(server);
    assert!(matches!(client.wait_for_result(goal, LONG), Err(CallError::ServerGone { .. })));
    assert_eq!(client.status(goal).unwrap(), GoalStatus::Aborted);
    assert!(!client.is_server_connected());
    assert!(!client.wait_for_server(Duration::from_millis(20)));
}

#[test]
fn action_type_mismatch_and_limits() {
    let n = name("types");
    let _server = ActionServer::<f64, f64, f64>::builder(&n).max_in_flight(1).create().unwrap();
    match ActionClient::<f64, f64, f32>::open(&n) {
        Err(Error::TypeMismatch { expected, .. }) => assert_eq!(expected, "f32 (feedback)"),
        other => panic!("{other:?}"),
    }
    let mut client = Client::open(&n).unwrap();
    client.send_goal(&1.0).unwrap();
    assert!(matches!(client.send_goal(&2.0), Err(CallError::TooManyInFlight { max: 1, .. })));
    assert!(matches!(
        client.status(eshm::action::GoalId::from_number(99)),
        Err(CallError::UnknownGoal { goal: 99, .. })
    ));
}
