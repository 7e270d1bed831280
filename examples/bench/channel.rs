//! The byte channel's rows: a round trip (the slave echoes what the master writes) and one-way
//! throughput, through the copying `write`/`read` calls.

use super::{CPU_A, CPU_B, pin, spawn, time_rounds, topic, wait_ok, wait_strategy};
use eshm::channel::{Channel, Role};
use std::time::{Duration, Instant};

fn open_channel(name: &str, role: Role, mode: &str, size: usize) -> Channel {
    Channel::builder(name)
        .role(role)
        .max_message(size)
        .capacity((4 * size).max(1 << 20))
        .wait_strategy(wait_strategy(mode))
        .read_timeout(Duration::from_secs(60))
        .write_timeout(Duration::from_secs(60))
        .open()
        .expect("open channel")
}

/// Slave side: echoes `total` messages (round trip), or reads `total` (throughput).
pub(crate) fn channel_child(args: &[String]) {
    pin(CPU_B);
    let (name, mode, size, total, echo) = (
        &args[0],
        &args[1],
        args[2].parse().unwrap(),
        args[3].parse::<u64>().unwrap(),
        args[4] == "echo",
    );
    let ch = open_channel(name, Role::Slave, mode, size);
    let mut buf = vec![0u8; size];
    for _ in 0..total {
        let n = ch.read_into(&mut buf).expect("read");
        if echo {
            ch.write(&buf[..n]).expect("echo");
        }
    }
}

/// Master side of the round trip: returns round-trip samples.
pub(crate) fn channel_round_trip(mode: &str, size: usize, iters: usize) -> Vec<u64> {
    let name = topic(&format!("channel-rtt-{size}"));
    let warmup = iters / 10;
    let total = warmup + iters;
    let ch = open_channel(&name, Role::Master, mode, size);
    let child = spawn(
        "channel",
        &[name.clone(), mode.to_owned(), size.to_string(), total.to_string(), "echo".into()],
    );
    pin(CPU_A);
    let msg = vec![0x5a; size];
    let mut back = vec![0u8; size];
    let rounds = time_rounds(warmup, iters, |_| {
        ch.write(&msg).expect("write");
        let n = ch.read_into(&mut back).expect("read echo");
        assert_eq!(n, size);
    });
    wait_ok(child);
    rounds
}

/// Master writes `total` messages as fast as the slave reads them (back-pressure, no loss).
pub(crate) fn channel_throughput(size: usize, total: u64) -> f64 {
    let name = topic(&format!("channel-tput-{size}"));
    let ch = open_channel(&name, Role::Master, "spin", size);
    let child = spawn(
        "channel",
        &[name.clone(), "spin".into(), size.to_string(), total.to_string(), "read".into()],
    );
    pin(CPU_A);
    let msg = vec![0xa5; size];
    ch.write(&msg).expect("first write"); // waits for the slave
    let start = Instant::now();
    for _ in 1..total {
        ch.write(&msg).expect("write");
    }
    // Done when the slave has read everything.
    while ch.stats().channel.master_to_slave.read < total {
        std::hint::spin_loop();
    }
    let secs = start.elapsed().as_secs_f64();
    wait_ok(child);
    (total - 1) as f64 / secs
}

// ---------------------------------------------------------------------------------------------
