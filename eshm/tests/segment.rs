//! Segment files as other programs see them in the directory.

use eshm::Publisher;
use eshm::segment::{SegmentKind, file_name, shm_dir};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::mem::MaybeUninit;
use std::sync::Mutex;

/// The tests watch this process's temporary files: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// A segment appears under its name complete: all its writes (sizing, header, initial slots)
/// happen under a temporary name, and the name comes by `link` (or `rename`), so the
/// directory never shows a modification of the file under its name.
#[test]
fn segment_files_appear_under_their_name_only_once_complete() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
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

/// A creator killed while creating a segment leaves its temporary file behind; the next
/// creator of the same segment removes it, and leaves the temporary files of live creators and
/// of other segments alone.
#[test]
fn a_creator_removes_what_dead_creators_of_its_segment_left() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!("eshm-test/segment/reclaim/{}", std::process::id());
    let dir = shm_dir();
    // The temporary name's form for this segment, from a create of our own.
    let watcher = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).unwrap();
    inotify::add_watch(&watcher, &dir, WatchFlags::CREATE).unwrap();
    drop(Publisher::<u64>::create(&name).unwrap());
    let mut buf = vec![MaybeUninit::<u8>::uninit(); 1 << 16];
    let mut reader = inotify::Reader::new(&watcher, &mut buf);
    let prefix = format!("eshm.tmp.{}.", std::process::id());
    let mut ours = None;
    while let Ok(event) = reader.next() {
        match event.file_name().and_then(|n| n.to_str().ok()) {
            Some(n) if n.starts_with(&prefix) => ours = Some(n.to_owned()),
            _ => {}
        }
    }
    let ours = ours.expect("the create made a temporary file");
    let tag = ours[prefix.len()..].split('.').next().unwrap().to_owned();

    // A real process, now dead.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let planted = [
        (format!("eshm.tmp.{dead}.{tag}.7"), false),
        (format!("eshm.tmp.{dead}.0123456789abcdef.7"), true),
        (format!("eshm.tmp.{}.{tag}.99999", std::process::id()), true),
    ];
    for (file, _) in &planted {
        std::fs::write(dir.join(file), b"left over").unwrap();
    }
    let publisher = Publisher::<u64>::create(&name).unwrap();
    for (file, kept) in &planted {
        assert_eq!(dir.join(file).exists(), *kept, "{file}");
        let _ = std::fs::remove_file(dir.join(file));
    }
    drop(publisher);
}
