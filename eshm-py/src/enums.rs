//! The `IntEnum`s of the original ESHM wrapper, each defined once as a table that both creates
//! the Python class and converts between its values and Rust's.

use crate::errors::{invalid_argument, ours};
use eshm::action::GoalStatus;
use eshm::channel::{DisconnectBehavior, Role};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

/// An `enum.IntEnum` of the module: its members, their values and what they stand for.
pub(crate) struct IntEnum<T: 'static> {
    name: &'static str,
    doc: &'static str,
    members: &'static [(&'static str, i64, T)],
    class: PyOnceLock<Py<PyAny>>,
}

impl<T: Copy + PartialEq> IntEnum<T> {
    const fn new(
        name: &'static str,
        doc: &'static str,
        members: &'static [(&'static str, i64, T)],
    ) -> Self {
        IntEnum { name, doc, members, class: PyOnceLock::new() }
    }

    /// Creates the class and adds it to `m` (and under the `aliases` too).
    fn register(&self, m: &Bound<'_, PyModule>, aliases: &[&str]) -> PyResult<()> {
        let py = m.py();
        let members = PyList::new(py, self.members.iter().map(|(n, v, _)| (*n, *v)))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("module", "eshm")?;
        let class =
            py.import("enum")?.getattr("IntEnum")?.call((self.name, members), Some(&kwargs))?;
        class.setattr("__doc__", self.doc)?;
        m.add(self.name, &class)?;
        for alias in aliases {
            m.add(*alias, &class)?;
        }
        let _ = self.class.set(py, class.unbind());
        Ok(())
    }

    /// The Rust value of a member, or of its integer value (`None`: `default`):
    /// `ArgumentTypeError` for a value that is not an integer, `InvalidArgumentError` for one
    /// that is not a member's.
    pub(crate) fn parse(&self, value: Option<&Bound<'_, PyAny>>, default: T) -> PyResult<T> {
        let Some(value) = value else { return Ok(default) };
        let int: i64 = value.extract().map_err(|e| ours(value.py(), e))?;
        self.members.iter().find(|(_, v, _)| *v == int).map(|(_, _, t)| *t).ok_or_else(|| {
            let names: Vec<String> =
                self.members.iter().map(|(n, _, _)| format!("{}.{n}", self.name)).collect();
            invalid_argument(format!("expected one of {}, got {int}", names.join(", ")))
        })
    }

    /// The Python member for a Rust value.
    pub(crate) fn member(&self, py: Python<'_>, value: T) -> PyResult<Py<PyAny>> {
        let (_, int, _) =
            self.members.iter().find(|(_, _, t)| *t == value).expect("every value has a member");
        let class = self.class.get(py).expect("created at import").bind(py);
        Ok(class.call1((*int,))?.unbind())
    }
}

pub(crate) static ROLE: IntEnum<Role> = IntEnum::new(
    "ESHMRole",
    "The role of a channel endpoint.",
    &[("MASTER", 0, Role::Master), ("SLAVE", 1, Role::Slave), ("AUTO", 2, Role::Auto)],
);

pub(crate) static DISCONNECT_BEHAVIOR: IntEnum<DisconnectBehavior> = IntEnum::new(
    "ESHMDisconnectBehavior",
    "When operations give up on a missing other end.",
    &[
        ("IMMEDIATELY", 0, DisconnectBehavior::Immediately),
        ("ON_TIMEOUT", 1, DisconnectBehavior::OnTimeout),
        ("NEVER", 2, DisconnectBehavior::Never),
    ],
);

/// The original library's result codes (eshm raises exceptions instead; the codes exist for
/// scripts that import or compare them).
pub(crate) static ERROR_CODES: IntEnum<()> = IntEnum::new(
    "ESHMError",
    "The result codes of the original ESHM library.",
    &[
        ("SUCCESS", 0, ()),
        ("INVALID_PARAM", -1, ()),
        ("SHM_CREATE", -2, ()),
        ("SHM_ATTACH", -3, ()),
        ("SHM_DETACH", -4, ()),
        ("SHM_DELETE", -5, ()),
        ("MUTEX_INIT", -6, ()),
        ("MUTEX_LOCK", -7, ()),
        ("MUTEX_UNLOCK", -8, ()),
        ("NO_DATA", -9, ()),
        ("TIMEOUT", -10, ()),
        ("MASTER_STALE", -11, ()),
        ("BUFFER_FULL", -12, ()),
        ("BUFFER_TOO_SMALL", -13, ()),
        ("NOT_INITIALIZED", -14, ()),
        ("ROLE_MISMATCH", -15, ()),
    ],
);

/// Where an action's goal stands. The first four have the values of SHM's `ACTION_STATUS`
/// (`ACTIVE`, `REJECTED`, `SUCCEEDED`, `PREEMPTED`), and `PREEMPTED` is another name of
/// `CANCELED`; `ACTION_STATUS` is another name of the class.
pub(crate) static GOAL_STATUS: IntEnum<GoalStatus> = IntEnum::new(
    "GoalStatus",
    "Where an action's goal stands (SHM's ACTION_STATUS values, plus PENDING and ABORTED; PREEMPTED is CANCELED).",
    &[
        ("ACTIVE", 0, GoalStatus::Active),
        ("REJECTED", 1, GoalStatus::Rejected),
        ("SUCCEEDED", 2, GoalStatus::Succeeded),
        ("CANCELED", 3, GoalStatus::Canceled),
        ("PREEMPTED", 3, GoalStatus::Canceled),
        ("PENDING", 4, GoalStatus::Pending),
        ("ABORTED", 5, GoalStatus::Aborted),
    ],
);

/// Adds every enum to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    ROLE.register(m, &["Role"])?;
    DISCONNECT_BEHAVIOR.register(m, &[])?;
    GOAL_STATUS.register(m, &["ACTION_STATUS"])?;
    ERROR_CODES.register(m, &[])
}
