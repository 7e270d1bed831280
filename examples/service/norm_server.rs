//! A Rust server for Python clients: the `geometry/norm` service answers an `eshm.msg`
//! `Vector3` with its length (`f64`). Its Python client is `examples/python/norm_client.py`:
//!
//! ```text
//! cargo run --example norm_server                          # terminal 1
//! python examples/python/norm_client.py                    # terminal 2
//! ```
//!
//! Arguments: `[NAME] [COUNT]` (default `geometry/norm`, and forever).

use eshm::msg::Vector3;
use eshm::service::Server;

fn main() -> eshm::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "geometry/norm".to_owned());
    let count: u64 = std::env::args().nth(2).map_or(u64::MAX, |c| c.parse().expect("COUNT"));
    let mut server = Server::<Vector3, f64>::create(&name)?;
    println!("serving {name:?} (pid {})", std::process::id());
    for _ in 0..count {
        let v = server.recv()?;
        let norm = (v.x * v.x + v.y * v.y + v.z * v.z).sqrt();
        v.respond(&norm)?;
    }
    println!("served {count} calls");
    Ok(())
}
