//! Segment files as other programs see them in the directory.

use eshm::Publisher;
use eshm::segment::{SegmentKind, file_name, shm_dir};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::mem::MaybeUninit;

/// A segment appears under its name complete: all its writes (sizing, header, initial slots)
/// happen under a temporary name, and the name comes by `link` (or `rename`), so the
/// directory never shows a modification of the file under its name.
#[test]
fn segment_files_appear_under_their_name_only_once_complete() {
    let name = format!("eshm-test/segment/appear/{}", std::process::id());
    let file = file_name(SegmentKind::Topic, &name).unwrap();
    let watcher = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).unwrap();
    let flags =
        WatchFlags::CREATE | WatchFlags::MODIFY | WatchFlags::CLOSE_WRITE | WatchFlags::MOVED_TO;
    inotify::add_watch(&watcher, shm_dir(), flags).unwrap();

    // Big enough that creating it takes many writes.
    let publisher = Publisher::<[u64; 512]>::builder(&name).capacity(256).create().unwrap();

    let mut buf = vec![MaybeUninit::<u8>::uninit(); 1 << 16];
    let mut reader = inotify::Reader::new(&watcher, &mut buf);
    let (mut ours, mut temporary_writes) = (Vec::new(), 0);
    while let Ok(event) = reader.next() {
        let Some(n) = event.file_name().and_then(|n| n.to_str().ok()) else { continue };
        if n == file {
            ours.push(event.events());
        } else if n.starts_with(&format!("eshm.tmp.{}.", std::process::id()))
            && event.events().intersects(ReadFlags::MODIFY)
        {
            temporary_writes += 1;
        }
    }
    assert!(temporary_writes > 0, "the watcher sees the writes (under the temporary name)");
    assert_eq!(ours, [ReadFlags::CREATE], "the name appears once, complete, and is not written");
    drop(publisher);
}
