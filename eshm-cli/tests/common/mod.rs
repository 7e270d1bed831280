//! The harness the `eshm` command's tests share: a segment directory per test, `eshm` runs
//! and their output.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use eshm_tests::ChildProcess;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A segment directory for one test, removed afterwards.
pub(crate) struct Dir(PathBuf);

impl Dir {
    pub(crate) fn new(test: &str) -> Dir {
        let path =
            std::env::temp_dir().join(format!("eshm-cli-test-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    pub(crate) fn env(&self) -> [(&str, &str); 1] {
        [("ESHM_SHM_DIR", self.0.to_str().unwrap())]
    }

    pub(crate) fn child(&self, role: &str, args: &[&str]) -> ChildProcess {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        ChildProcess::spawn_with_env(role, &args, &self.env())
    }

    /// Runs `eshm ARGS` to completion.
    pub(crate) fn eshm(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run eshm");
        Run::from(out, args)
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_eshm"));
        c.args(args).envs(self.env());
        c
    }

    /// Waits until `eshm info` counts a reader of topic `name` (a subscriber is attached).
    pub(crate) fn wait_for_reader(&self, name: &str) {
        while self.eshm(&["info", name, "--json"]).json()["readers"] == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished `eshm` run printed.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) args: String,
}

impl Run {
    pub(crate) fn from(out: Output, args: &[&str]) -> Run {
        Run {
            code: out.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            args: args.join(" "),
        }
    }

    /// Asserts the exit status and returns stdout.
    pub(crate) fn expect(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "`eshm {}` exited with {}\nstdout:\n{}\nstderr:\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        &self.stdout
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.expect(0)).expect("valid JSON")
    }
}

pub(crate) fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name:?} not in {list:#}"))
}
