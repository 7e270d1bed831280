//! Services and actions between real processes: many clients calling at once (every answer
//! echoes its request's nonce: none wrong, none lost), a server killed during a burst of calls
//! and replaced, clients killed with calls in flight, and actions (accept, reject, feedback in
//! order, cancel, abort, several goals and clients at once, a killed server).
//!
//! This binary has its own `main` (no libtest): with `ESHM_TEST_CHILD_ROLE` set it plays a child
//! role. Run one test with `cargo test -p eshm-tests --test service -- <name-substring>`.

use eshm::action::{ActionClient, ActionServer, GoalStatus};
use eshm::service::{CallError, Client, Server};
use eshm_tests::{ChildProcess, field, unique_name};
use std::time::{Duration, Instant};

/// A call: who sends it, its number, a random nonce the answer must echo, and an operand.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Call {
    client: u64,
    seq: u64,
    nonce: u64,
    x: u64,
}

/// The answer: the call's identity echoed, the server's pid, and a function of the operand.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Answer {
    client: u64,
    seq: u64,
    nonce: u64,
    y: u64,
    server_pid: u64,
}

fn answer(call: &Call) -> Answer {
    Answer {
        client: call.client,
        seq: call.seq,
        nonce: call.nonce,
        y: call.x.wrapping_mul(3).wrapping_add(call.nonce >> 7),
        server_pid: u64::from(std::process::id()),
    }
}

/// Whether `a` is the answer to `c` (by any server).
fn matches(c: &Call, a: &Answer) -> bool {
    a.client == c.client && a.seq == c.seq && a.nonce == c.nonce && a.y == answer(c).y
}

/// A xorshift generator seeded from the pid, the clock and `salt`.
fn rng(salt: u64) -> impl FnMut() -> u64 {
    let mut x = u64::from(std::process::id()) << 32
        ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
            as u64
        | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

const PATIENT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Child roles.

/// `server NAME DELAY_US`: serves `Call -> Answer` (sleeping DELAY_US per call) until released.
fn child_server(args: &[String]) {
    let (name, delay) = (&args[0], Duration::from_micros(args[1].parse().unwrap()));
    let server = Server::spawn(name, move |c: &Call| {
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        answer(c)
    })
    .expect("create server");
    println!("ready pid={}", std::process::id());
    eshm_tests::wait_for_parent();
    println!("done served={}", server.served());
}

/// `client NAME ID COUNT`: makes COUNT calls, checking each answer; prints the counts.
fn child_client(args: &[String]) {
    let (name, id, count) =
        (&args[0], args[1].parse::<u64>().unwrap(), args[2].parse::<u64>().unwrap());
    let client = Client::<Call, Answer>::open(name).expect("open client");
    let mut next = rng(id);
    println!("ready");
    eshm_tests::read_parent_line(); // start together
    let (mut ok, mut wrong, mut lost) = (0u64, 0u64, 0u64);
    for seq in 1..=count {
        let call = Call { client: id, seq, nonce: next(), x: next() >> 1 };
        match client.call(&call, PATIENT) {
            Ok(a) if matches(&call, &a) => ok += 1,
            Ok(a) => {
                wrong += 1;
                eprintln!("client {id}: call {call:?} got {a:?}");
            }
            Err(e) => {
                lost += 1;
                eprintln!("client {id}: call {seq} failed: {e}");
            }
        }
    }
    println!("done ok={ok} wrong={wrong} lost={lost}");
}

/// `flood NAME`: sends as many calls as it may have in flight, then waits to be killed.
fn child_flood(args: &[String]) {
    let client = Client::<Call, Answer>::open(&args[0]).expect("open client");
    let mut next = rng(0);
    let mut pending = Vec::new();
    while let Ok(p) =
        client.send(&Call { client: 99, seq: pending.len() as u64, nonce: next(), x: 1 })
    {
        pending.push(p);
    }
    println!("sent={}", pending.len());
    eshm_tests::wait_for_parent();
}

// ---------------------------------------------------------------------------------------------
// Services.

fn many_clients(clients: u64, calls: u64) {
    let name = unique_name("service-many");
    let mut server = ChildProcess::spawn("server", &[name.clone(), "0".into()]);
    server.expect_line("ready");
    let mut children: Vec<ChildProcess> = (1..=clients)
        .map(|id| {
            let mut c =
                ChildProcess::spawn("client", &[name.clone(), id.to_string(), calls.to_string()]);
            c.expect_line("ready");
            c
        })
        .collect();
    let start = Instant::now();
    for c in &mut children {
        c.send("go");
    }
    for (i, c) in children.into_iter().enumerate() {
        let line = c.finish("done");
        assert_eq!(
            (field(&line, "ok"), field(&line, "wrong"), field(&line, "lost")),
            (calls, 0, 0),
            "client {}: {line}",
            i + 1
        );
    }
    let elapsed = start.elapsed();
    let served = field(&server.finish("done"), "served");
    assert_eq!(served, clients * calls);
    println!(
        "{clients} clients x {calls} calls: every answer its own call's, in {elapsed:.1?} ({:.0} calls/s)",
        (clients * calls) as f64 / elapsed.as_secs_f64()
    );
}

fn service_two_clients_5000_calls_each_every_answer_matches() {
    many_clients(2, 5000);
}

fn service_eight_clients_5000_calls_each_every_answer_matches() {
    many_clients(8, 5000);
}

fn service_server_killed_during_a_burst_calls_fail_fast_then_succeed_with_the_next() {
    /// What the workers have seen, shared with the test.
    #[derive(Default)]
    struct Seen {
        stop: bool,
        gone: u32,
        after: u32,
    }
    let name = unique_name("service-kill");
    // A server that takes 1 ms per call, so that calls are in flight when it dies.
    let mut first = ChildProcess::spawn("server", &[name.clone(), "1000".into()]);
    let first_pid = field(&first.expect_line("ready"), "pid");
    let seen = std::sync::Mutex::new(Seen::default());
    // Waits until `what` holds, or gives up after PATIENT (stopping the workers first).
    let wait_for = |what: &str, done: &dyn Fn(&Seen) -> bool| {
        let deadline = Instant::now() + PATIENT;
        while !done(&seen.lock().unwrap()) {
            if Instant::now() > deadline {
                seen.lock().unwrap().stop = true;
                return Err(format!("{what} did not happen within {PATIENT:?}"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    };
    let (results, waited) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4u64)
            .map(|id| {
                let (name, seen) = (&name, &seen);
                s.spawn(move || {
                    let client = Client::<Call, Answer>::open(name).unwrap();
                    let mut next = rng(id);
                    let (mut gone, mut before, mut after, mut wrong, mut other) = (0, 0, 0, 0, 0);
                    let mut seq = 0;
                    while !seen.lock().unwrap().stop {
                        seq += 1;
                        let call = Call { client: id, seq, nonce: next(), x: next() >> 1 };
                        match client.call(&call, PATIENT) {
                            Ok(a) if !matches(&call, &a) => wrong += 1,
                            Ok(a) if a.server_pid == first_pid => before += 1,
                            Ok(_) => {
                                after += 1;
                                seen.lock().unwrap().after += 1;
                            }
                            Err(CallError::ServerGone { .. }) => {
                                gone += 1;
                                seen.lock().unwrap().gone += 1;
                            }
                            Err(e) => {
                                eprintln!("worker {id}: {e}");
                                other += 1;
                            }
                        }
                    }
                    (gone, before, after, wrong, other)
                })
            })
            .collect();
        // Let the burst run, then kill the server in the middle of it. No other server comes
        // until a call has failed with ServerGone: clients notice the death by themselves.
        std::thread::sleep(Duration::from_millis(300));
        first.kill();
        let mut second = None;
        let waited = wait_for("ServerGone", &|s| s.gone > 0).and_then(|()| {
            std::thread::sleep(Duration::from_millis(100));
            let server = second.insert(ChildProcess::spawn("server", &[name.clone(), "0".into()]));
            server.expect_line("ready");
            wait_for("answers of the second server", &|s| s.after >= 100)
        });
        seen.lock().unwrap().stop = true;
        let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        // The second server stays until every worker has stopped.
        if let Some(second) = second {
            second.finish("done");
        }
        (results, waited)
    });
    let sum = |f: fn(&(u32, u32, u32, u32, u32)) -> u32| results.iter().map(f).sum::<u32>();
    let (gone, before, after, wrong, other) =
        (sum(|r| r.0), sum(|r| r.1), sum(|r| r.2), sum(|r| r.3), sum(|r| r.4));
    println!(
        "answered by the first server {before}, ServerGone {gone}, answered by the second {after}, \
         wrong {wrong}, other errors {other}; per worker {results:?}"
    );
    waited.unwrap();
    assert_eq!((wrong, other), (0, 0), "no wrong answer, no timeout or other error");
    // Four workers, each with a call in flight nearly all the time (the server takes 1 ms):
    // the kill leaves calls in flight, and each fails with ServerGone, not at its 60 s timeout.
    assert!(gone <= 4, "only calls in flight fail: one per worker at most");
    assert!(before > 0 && after >= 100, "{results:?}");
}

fn service_clients_killed_with_calls_in_flight_leave_the_server_serving() {
    let name = unique_name("service-client-kill");
    let mut server = ChildProcess::spawn("server_small", std::slice::from_ref(&name));
    server.expect_line("ready");
    for round in 0..50 {
        let mut c = ChildProcess::spawn("flood", std::slice::from_ref(&name));
        let sent = field(&c.expect_line("sent"), "sent");
        assert_eq!(sent, 4, "round {round}: the server allows 4 calls in flight");
        c.kill();
    }
    // The server allows 4 clients: 50 dead ones left their slots, and four live ones get them.
    let clients: Vec<_> = (0..4).map(|_| Client::<Call, Answer>::open(&name).unwrap()).collect();
    for (i, c) in clients.iter().enumerate() {
        let call = Call { client: i as u64, seq: 1, nonce: 7 + i as u64, x: 5 };
        assert!(matches(&call, &c.call(&call, PATIENT).unwrap()));
    }
    let info = eshm::inspect::info(eshm::segment::SegmentKind::Service, &name).unwrap();
    let details = info.service.unwrap();
    assert_eq!(details.live_clients(), 4);
    println!(
        "after 50 clients killed with 4 calls in flight each: answered {}, undelivered {}, \
         received {}",
        details.answered, details.undelivered, details.received
    );
    let served = field(&server.finish("done"), "served");
    assert!(served >= 4, "{served}");
}

/// `server_small NAME`: a server for 4 clients with 4 calls in flight each, 1 ms per call.
fn child_server_small(args: &[String]) {
    let mut server =
        Server::<Call, Answer>::builder(&args[0]).max_clients(4).max_in_flight(4).create().unwrap();
    println!("ready");
    let stop = std::sync::Arc::new(std::sync::Mutex::new(false));
    let waiter = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            eshm_tests::wait_for_parent();
            *stop.lock().unwrap() = true;
        })
    };
    while !*stop.lock().unwrap() {
        match server.recv_timeout(Duration::from_millis(50)) {
            Ok(req) => {
                std::thread::sleep(Duration::from_millis(1));
                let a = answer(&req);
                req.respond(&a).unwrap();
            }
            Err(e) if e.is_timeout() => {}
            Err(e) => panic!("server: {e}"),
        }
    }
    waiter.join().unwrap();
    println!("done served={}", server.served());
}

// ---------------------------------------------------------------------------------------------
// Actions.

/// A goal: what the server is to do with it (see [`child_action_server`]), in how many steps,
/// and a nonce its feedback and result echo.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Goal {
    mode: u64,
    steps: u64,
    nonce: u64,
}

/// Feedback: the step reached, and the goal's nonce.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Progress {
    step: u64,
    nonce: u64,
}

/// A result: the steps done, and the goal's nonce.
#[derive(Clone, Copy, Debug, PartialEq, eshm::Message)]
#[repr(C)]
struct Outcome {
    steps: u64,
    nonce: u64,
}

const SUCCEED: u64 = 0;
const REJECT: u64 = 1;
const ABORT: u64 = 2;
const UNTIL_CANCELED: u64 = 3;

type MoveServer = ActionServer<Goal, Outcome, Progress>;
type MoveClient = ActionClient<Goal, Outcome, Progress>;

/// `action_server NAME`: takes goals and works on each on its own thread: `SUCCEED` after
/// `steps` feedback messages 1 ms apart, `REJECT`, `ABORT` after `steps`, `UNTIL_CANCELED`
/// (feedback every ms until canceled; any other mode runs until canceled too).
fn child_action_server(args: &[String]) {
    let mut server = MoveServer::create(&args[0]).expect("create action server");
    println!("ready pid={}", std::process::id());
    loop {
        let request = server.recv_goal().expect("receive a goal");
        let goal = *request.goal();
        if goal.mode == REJECT {
            request.reject().unwrap();
            continue;
        }
        let mut active = request.accept().unwrap();
        std::thread::spawn(move || {
            let mut step = 0;
            loop {
                if active.is_cancel_requested() {
                    active.canceled(&Outcome { steps: step, nonce: goal.nonce }).unwrap();
                    return;
                }
                if matches!(goal.mode, SUCCEED | ABORT) && step == goal.steps {
                    let result = Outcome { steps: step, nonce: goal.nonce };
                    let end = if goal.mode == SUCCEED {
                        active.succeed(&result)
                    } else {
                        active.abort(&result)
                    };
                    end.unwrap();
                    return;
                }
                step += 1;
                active.publish_feedback(&Progress { step, nonce: goal.nonce }).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
    }
}

fn action_server_process(name: &str) -> (ChildProcess, u64) {
    let mut server = ChildProcess::spawn("action_server", &[name.to_owned()]);
    let pid = field(&server.expect_line("ready"), "pid");
    (server, pid)
}

fn action_goals_accept_reject_feedback_cancel_and_abort_across_processes() {
    let name = unique_name("action");
    let (_server, _) = action_server_process(&name);
    let mut client = MoveClient::open(&name).unwrap();
    assert!(client.wait_for_server(PATIENT));

    // Accepted: feedback 1..=20 in order (none lost: the client reads as it comes), then the
    // result.
    let goal = client.send_goal(&Goal { mode: SUCCEED, steps: 20, nonce: 11 }).unwrap();
    for step in 1..=20 {
        let fb = client.next_feedback(goal, PATIENT).unwrap().expect("feedback before the end");
        assert_eq!(fb, Progress { step, nonce: 11 });
    }
    let r = client.wait_for_result(goal, PATIENT).unwrap();
    assert_eq!(
        (r.status, r.result),
        (GoalStatus::Succeeded, Some(Outcome { steps: 20, nonce: 11 }))
    );
    assert_eq!(client.next_feedback(goal, PATIENT).unwrap(), None);
    assert_eq!(client.feedback_lost(goal), 0);

    // Rejected: the wait ends at once (not at its 60 s timeout).
    let goal = client.send_goal(&Goal { mode: REJECT, steps: 0, nonce: 12 }).unwrap();
    let r = client.wait_for_result(goal, PATIENT).unwrap();
    assert_eq!((r.status, r.result), (GoalStatus::Rejected, None));

    // Aborted after 3 steps: the wait ends with it, with its result.
    let goal = client.send_goal(&Goal { mode: ABORT, steps: 3, nonce: 13 }).unwrap();
    let r = client.wait_for_result(goal, PATIENT).unwrap();
    assert_eq!((r.status, r.result), (GoalStatus::Aborted, Some(Outcome { steps: 3, nonce: 13 })));

    // Canceled: the server sees the request and acknowledges it.
    let goal = client.send_goal(&Goal { mode: UNTIL_CANCELED, steps: 0, nonce: 14 }).unwrap();
    assert_eq!(client.next_feedback(goal, PATIENT).unwrap().unwrap().nonce, 14);
    assert_eq!(client.status(goal).unwrap(), GoalStatus::Active);
    client.cancel(goal).unwrap();
    let r = client.wait_for_result(goal, PATIENT).unwrap();
    assert_eq!(r.status, GoalStatus::Canceled);
    assert_eq!(r.result.unwrap().nonce, 14);
}

fn action_two_clients_with_goals_at_the_same_time() {
    let name = unique_name("action-two");
    let (_server, _) = action_server_process(&name);
    std::thread::scope(|s| {
        for id in 0..2u64 {
            let name = &name;
            s.spawn(move || {
                let mut client = MoveClient::open(name).unwrap();
                assert!(client.wait_for_server(PATIENT));
                let goals: Vec<_> = (0..4u64)
                    .map(|g| {
                        let nonce = id * 100 + g;
                        let goal = Goal { mode: SUCCEED, steps: 5 + g, nonce };
                        (client.send_goal(&goal).unwrap(), goal)
                    })
                    .collect();
                for (goal, sent) in goals {
                    let r = client.wait_for_result(goal, PATIENT).unwrap();
                    assert_eq!(r.status, GoalStatus::Succeeded);
                    assert_eq!(r.result, Some(Outcome { steps: sent.steps, nonce: sent.nonce }));
                    // Its feedback is its own, in order, none lost (the goal's slots hold 16).
                    let mut steps = Vec::new();
                    while let Some(fb) = client.next_feedback(goal, PATIENT).unwrap() {
                        assert_eq!(fb.nonce, sent.nonce);
                        steps.push(fb.step);
                    }
                    assert_eq!(steps, (1..=sent.steps).collect::<Vec<_>>());
                }
            });
        }
    });
}

fn action_server_death_is_seen_by_is_server_connected_and_a_waiting_wait_for_result() {
    let name = unique_name("action-kill");
    let (mut server, _) = action_server_process(&name);
    let mut client = MoveClient::open(&name).unwrap();
    assert!(client.wait_for_server(PATIENT));
    assert!(client.is_server_connected());
    // A second client, attached and idle: it learns of the death only by asking.
    let mut watcher = MoveClient::open(&name).unwrap();
    assert!(watcher.is_server_connected());
    let goal = client.send_goal(&Goal { mode: UNTIL_CANCELED, steps: 0, nonce: 5 }).unwrap();
    assert_eq!(client.next_feedback(goal, PATIENT).unwrap().unwrap().nonce, 5);
    let waited = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            server.kill();
        });
        client.wait_for_result(goal, PATIENT)
    });
    assert!(matches!(waited, Err(CallError::ServerGone { .. })), "{waited:?}");
    assert_eq!(client.status(goal).unwrap(), GoalStatus::Aborted);
    assert!(!client.is_server_connected());
    assert!(!watcher.is_server_connected());
    // A new server: goals work again.
    let (_again, _) = action_server_process(&name);
    assert!(client.wait_for_server(PATIENT));
    let goal = client.send_goal(&Goal { mode: SUCCEED, steps: 1, nonce: 6 }).unwrap();
    assert_eq!(client.wait_for_result(goal, PATIENT).unwrap().status, GoalStatus::Succeeded);
}

fn main() {
    eshm_tests::run_main(
        &[
            ("server", child_server as eshm_tests::ChildRole),
            ("server_small", child_server_small),
            ("client", child_client),
            ("flood", child_flood),
            ("action_server", child_action_server),
        ],
        eshm_tests::named_tests![
            service_two_clients_5000_calls_each_every_answer_matches,
            service_eight_clients_5000_calls_each_every_answer_matches,
            service_server_killed_during_a_burst_calls_fail_fast_then_succeed_with_the_next,
            service_clients_killed_with_calls_in_flight_leave_the_server_serving,
            action_goals_accept_reject_feedback_cancel_and_abort_across_processes,
            action_two_clients_with_goals_at_the_same_time,
            action_server_death_is_seen_by_is_server_connected_and_a_waiting_wait_for_result,
        ],
    );
}
